import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A real voice note: a 1 s 440 Hz tone, Opus (or `codec`) in Ogg, as Telegram and Discord send them. */
export async function makeVoiceNote(codec: 'libopus' | 'libvorbis' = 'libopus', seconds = 1): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'test-voice-'));
  try {
    const file = join(dir, 'voice.ogg');
    await run('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:a', codec, file]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Probe {
  /** Codec of each stream, e.g. `['aac']`. */
  codecs: string[];
  /** ffprobe's demuxer names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string;
  /** The `ftyp` major brand at offset 8 (`M4A `, `isom`…), or '' when there is none. */
  brand: string;
}

/** What ffprobe says a file is. */
export async function probe(bytes: Buffer): Promise<Probe> {
  const dir = await mkdtemp(join(tmpdir(), 'test-probe-'));
  try {
    const file = join(dir, 'probe.bin');
    await writeFile(file, bytes);
    const streams = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file]);
    const format = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'csv=p=0', file]);
    const brand = bytes.subarray(4, 8).toString('latin1') === 'ftyp' ? bytes.subarray(8, 12).toString('latin1') : '';
    return { codecs: streams.stdout.trim().split('\n').filter(Boolean), format: format.stdout.trim(), brand };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pids of running processes (ffmpeg) with an argument under `dir`; Linux only. */
export async function processesUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // A zombie (state Z) has exited; only its parent's wait is missing.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && cmdline.split('\0').some((arg) => arg.startsWith(dir))) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
