import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncodeSlots } from '../../src/media/encode-slots.js';
import { planFit } from '../../src/media/fit-plan.js';
import { MediaError } from '../../src/media/media-error.js';
import { posterFrames, THUMBNAIL_MAX_BYTES } from '../../src/media/poster-frame.js';
import { fitVideo } from '../../src/media/video-fit.js';
import { probeVideo, type VideoInfo } from '../../src/media/video-probe.js';
import { makeWorkDir, sweepOrphanWorkDirs } from '../../src/media/work-dir.js';
import { makeTestVideo, probeForTest } from '../helpers/test-video.js';

const MiB = 1024 * 1024;
let work: string;
let source: string;
let sourceSize: number;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'video-fit-test-'));
  source = join(work, 'render.mp4');
  // About 3 MiB of 640×360 over 6 s: the fit below aims at 1 MiB.
  sourceSize = await makeTestVideo(source, { width: 640, height: 360, seconds: 6, videoKbps: 4000 });
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function info(overrides: Partial<VideoInfo> = {}): VideoInfo {
  return { durationSec: 60, width: 1920, height: 1080, fps: 30, hasAudio: true, ...overrides };
}

describe('fit plan', () => {
  it('when a 60 s 1080p render must fit 10 MiB, then it goes down to 720p at the source frame rate, aiming under the limit', () => {
    const plan = planFit(info(), 10 * MiB);
    expect(plan).toMatchObject({ width: 1280, height: 720, fps: 30 });
    expect(plan?.targetBytes).toBeLessThan(10 * MiB);
    expect(((plan?.videoBitsPerSec ?? 0) + (plan?.audioBitsPerSec ?? 0)) * 60).toBeLessThan(10 * MiB * 8);
  });

  it('when the bitrate is plenty, then the resolution and frame rate stay', () => {
    expect(planFit(info({ durationSec: 10 }), 50 * MiB)).toMatchObject({ width: 1920, height: 1080, fps: 30 });
  });

  it('when a portrait video is fitted, then its short side follows the rungs', () => {
    expect(planFit(info({ width: 1080, height: 1920 }), 10 * MiB)).toMatchObject({ width: 720, height: 1280 });
  });

  it('when a 60 fps render is tight, then 30 fps is tried before a smaller picture', () => {
    expect(planFit(info({ durationSec: 20, fps: 60 }), 10 * MiB)).toMatchObject({ height: 1080, fps: 30 });
  });

  it('when a 20-minute render must fit 10 MiB or 50 MB, then there is no plan (the link goes instead)', () => {
    expect(planFit(info({ durationSec: 20 * 60 }), 10 * MiB)).toBeUndefined();
    expect(planFit(info({ durationSec: 20 * 60 }), 50 * 1000 * 1000)).toBeUndefined();
  });
});

describe('ffprobe, fit and poster with the real ffmpeg', () => {
  it('when a test render is probed, then its size, length, frame rate and audio are read from the file', async () => {
    const probed = await probeVideo(source);
    expect(probed).toMatchObject({ width: 640, height: 360, fps: 30, hasAudio: true });
    expect(probed.durationSec).toBeGreaterThan(5.9);
    expect(probed.durationSec).toBeLessThan(6.2);
  });

  it('when a file is not a video, then ffprobe’s refusal is a MediaError', async () => {
    const junk = join(work, 'junk.mp4');
    await import('node:fs/promises').then((fs) => fs.writeFile(junk, 'not a video at all'));
    await expect(probeVideo(junk)).rejects.toBeInstanceOf(MediaError);
  });

  it('when the render is over the limit, then the fitted MP4 is H.264 under it, progress rises from ffmpeg’s own output, and faststart puts moov first', async () => {
    expect(sourceSize).toBeGreaterThan(2 * MiB);
    const output = join(work, 'fitted.mp4');
    const seen: number[] = [];
    const result = await fitVideo(source, output, await probeVideo(source), 1 * MiB, { timeoutMs: 120_000, onProgress: (p) => seen.push(p) });
    expect(result).toBeDefined();
    const { size } = await stat(output);
    expect(size).toBeLessThanOrEqual(1 * MiB);
    expect(size).toBeGreaterThan(0.6 * MiB);
    expect(result?.sizeBytes).toBe(size);
    const probed = await probeForTest(output);
    expect(probed.codec).toBe('h264');
    expect(Math.abs(probed.durationSec - 6)).toBeLessThan(0.3);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(50);
    // +faststart: the moov box comes before mdat, so a chat plays it while it loads.
    const head = (await import('node:fs/promises').then((fs) => fs.readFile(output))).subarray(0, 4096).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat') === -1 ? Infinity : head.indexOf('mdat'));
  }, 120_000);

  it('when the video is too long for the limit, then nothing is encoded and the answer is undefined', async () => {
    const output = join(work, 'never.mp4');
    expect(await fitVideo(source, output, { ...(await probeVideo(source)), durationSec: 3600 }, 1 * MiB, { timeoutMs: 10_000 })).toBeUndefined();
    await expect(stat(output)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('when ffmpeg is missing, then the fit fails with media_tool_missing', async () => {
    const error = await fitVideo(source, join(work, 'x.mp4'), await probeVideo(source), 1 * MiB, { timeoutMs: 10_000, ffmpegPath: '/nonexistent/ffmpeg' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MediaError);
    expect((error as MediaError).code).toBe('media_tool_missing');
  });

  it('when the time limit passes, then ffmpeg is killed and the fit fails with media_timeout', async () => {
    const error = await fitVideo(source, join(work, 'slow.mp4'), await probeVideo(source), 1 * MiB, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect((error as MediaError).code).toBe('media_timeout');
  });

  it('when a poster is taken, then the thumbnail is a JPEG of at most 320 px and 200 kB and the cover keeps the video size', async () => {
    const dir = join(work, 'poster');
    await mkdir(dir);
    const frames = await posterFrames(source, dir, await probeVideo(source));
    expect(frames.thumbnail?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(frames.thumbnail?.length).toBeLessThanOrEqual(THUMBNAIL_MAX_BYTES);
    const thumb = await probeForTest(join(dir, 'thumb.jpg'));
    expect(Math.max(thumb.width, thumb.height)).toBe(320);
    const cover = await probeForTest(join(dir, 'cover.jpg'));
    expect(cover).toMatchObject({ width: 640, height: 360 });
    expect(frames.cover?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });
});

describe('work directories', () => {
  it('when a worker died with its work directory, then the sweep removes it and keeps live ones', async () => {
    const root = join(work, 'root');
    const mine = await makeWorkDir(root);
    // A pid that has exited: a child we ran to its end.
    const dead = await new Promise<number>((resolve) => {
      const child = spawn('true');
      child.once('close', () => resolve(child.pid ?? 0));
    });
    await mkdir(join(root, `fit-${dead}-abc123`));
    await mkdir(join(root, 'unrelated'));
    expect(await sweepOrphanWorkDirs(root)).toBe(1);
    expect((await readdir(root)).sort()).toEqual([mine.path.slice(root.length + 1), 'unrelated'].sort());
    await mine.cleanup();
    await mine.cleanup();
    expect(await readdir(root)).toEqual(['unrelated']);
  });
});

describe('encode slots', () => {
  it('when more encodes ask than there are slots, then they run in call order, one at a time', async () => {
    const slots = new EncodeSlots(1);
    const order: string[] = [];
    const first = await slots.take();
    const second = slots.take().then((release) => {
      order.push('second');
      return release;
    });
    const third = slots.take().then((release) => {
      order.push('third');
      release();
    });
    expect(slots.inUse).toBe(1);
    order.push('first done');
    first();
    (await second)();
    await third;
    expect(order).toEqual(['first done', 'second', 'third']);
    expect(slots.inUse).toBe(0);
  });

  it('when a waiter gives up, then it leaves the line and the slot goes to the next', async () => {
    const slots = new EncodeSlots(1);
    const held = await slots.take();
    const abort = new AbortController();
    const gaveUp = slots.take(abort.signal);
    const next = slots.take();
    abort.abort(new Error('stop'));
    await expect(gaveUp).rejects.toThrow('stop');
    held();
    (await next)();
    expect(slots.inUse).toBe(0);
  });
});
