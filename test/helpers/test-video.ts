import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';

export interface TestVideoSpec {
  width: number;
  height: number;
  fps?: number;
  seconds: number;
  /** Video bitrate in kbit/s: the file's size follows from it (noise keeps the encoder from undercutting it). */
  videoKbps: number;
  audio?: boolean;
}

/**
 * A test render made with ffmpeg's test sources: `testsrc2` with temporal noise (so that it does
 * not compress to nothing) and a sine tone, H.264/AAC MP4. Returns its size in bytes.
 */
export async function makeTestVideo(path: string, spec: TestVideoSpec): Promise<number> {
  const fps = spec.fps ?? 30;
  const kbps = spec.videoKbps;
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=s=${spec.width}x${spec.height}:r=${fps}:d=${spec.seconds}`,
    ...(spec.audio === false ? [] : ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${spec.seconds}`]),
    '-vf', 'noise=alls=12:allf=t',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`,
    '-x264-params', 'nal-hrd=cbr:force-cfr=1',
    ...(spec.audio === false ? [] : ['-c:a', 'aac', '-b:a', '128k']),
    '-movflags', '+faststart', path,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg made no test video (${code}): ${stderr.slice(-300)}`))));
  });
  return (await stat(path)).size;
}

/** ffprobe's width, height and duration of a file, for assertions. */
export async function probeForTest(path: string): Promise<{ width: number; height: number; durationSec: number; codec: string }> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,codec_name:format=duration', '-of', 'json', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (text += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`ffprobe failed (${code})`))));
  });
  const parsed = JSON.parse(out) as { streams: Array<{ width: number; height: number; codec_name: string }>; format: { duration: string } };
  const stream = parsed.streams[0];
  if (stream === undefined) throw new Error('no video stream');
  return { width: stream.width, height: stream.height, durationSec: Number(parsed.format.duration), codec: stream.codec_name };
}

/** `times` copies of a video one after another, without re-encoding: a long render made in a moment. */
export async function loopTestVideo(source: string, path: string, times: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-stream_loop', String(times - 1), '-i', source, '-c', 'copy', '-movflags', '+faststart', path], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg could not loop the test video (${code}): ${stderr.slice(-300)}`))));
  });
  return (await stat(path)).size;
}
