import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitVideo } from '../src/media/video-fit.js';
import { probeVideo } from '../src/media/video-probe.js';
import { makeTestVideo } from '../test/helpers/test-video.js';
import type { BenchPlan } from './lib/plan.js';
import { against, ratioAtLeast, ratioAtMost, valueAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';

export const BENCHMARK = 'video fit';

/** Issue 15: a 60 s 1080p render of about 30 MB fitted to Discord's 10 MiB. */
export const LIMIT_BYTES = 10 * 1024 * 1024;
export const SIZE_RATIO_MIN = 0.85;
export const SIZE_RATIO_MAX = 0.98;
export const SSIM_MIN = 0.9;
export const TIME_RATIO_MAX = 1.0;
export const RSS_ADDED_MAX_BYTES = 150 * 1024 * 1024;
const SAMPLE_MS = 100;

/** Resident memory (VmRSS) of every process whose command line names `dir`: the encoder. */
async function childRss(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(dir)) continue;
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // It ended while we looked.
    }
  }
  return total;
}

/** ffmpeg's `ssim` filter, the original scaled to the output's size: the `All:` figure. */
async function ssim(output: string, original: string, width: number, height: number): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-i', output, '-i', original, '-lavfi', `[1:v]scale=${width}:${height}:flags=bicubic[ref];[0:v][ref]ssim`, '-f', 'null', '-'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`ssim failed (${code})`))));
  });
  return Number(/All:([\d.]+)/.exec(text)?.[1] ?? Number.NaN);
}

/**
 * The worker's fit, measured as the issue asks: output size ÷ limit, SSIM against the
 * original at the output's resolution, encode time ÷ video length, and the memory the fit
 * adds (the worker's RSS growth plus the encoder's own RSS, sampled every 100 ms).
 */
export async function benchVideoFit(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const seconds = plan.mode === 'quick' ? 20 : 60;
  const dir = await mkdtemp(join(tmpdir(), 'bench-video-fit-'));
  try {
    const source = join(dir, 'render.mp4');
    // 4 Mbit/s of 1080p with noise: about 30 MB a minute, as a real render of this kind.
    const sourceBytes = await makeTestVideo(source, { width: 1920, height: 1080, seconds, videoKbps: 4000 });
    const info = await probeVideo(source);
    const output = join(dir, 'fitted.mp4');
    const baseline = process.memoryUsage().rss;
    let peakNode = 0;
    let peakChild = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakNode = Math.max(peakNode, process.memoryUsage().rss - baseline);
        peakChild = Math.max(peakChild, await childRss(dir));
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      }
    })();
    const t0 = performance.now();
    const result = await fitVideo(source, output, info, LIMIT_BYTES, { timeoutMs: 30 * 60_000 });
    const encodeMs = performance.now() - t0;
    sampling = false;
    await sampler;
    if (result === undefined) throw new Error('the bench render found no fit plan');
    const { size } = await stat(output);
    const quality = await ssim(output, source, result.plan.width, result.plan.height);
    const label = `${seconds} s 1080p (${(sourceBytes / 1e6).toFixed(1)} MB) → 10 MiB`;
    const figures: Figure[] = [
      withTargets(
        against({ benchmark: BENCHMARK, name: `${label}: output size`, value: size, unit: 'B' }, { name: 'the 10 MiB limit', value: LIMIT_BYTES, unit: 'B' }),
        ratioAtLeast(SIZE_RATIO_MIN),
        ratioAtMost(SIZE_RATIO_MAX),
      ),
      withTargets({ benchmark: BENCHMARK, name: `${label}: SSIM at ${result.plan.height}p`, value: quality, unit: 'n' }, { on: 'value', op: '≥', bound: SSIM_MIN }),
      withTargets(
        against({ benchmark: BENCHMARK, name: `${label}: encode time`, value: encodeMs, unit: 'ms' }, { name: 'the video length', value: info.durationSec * 1000, unit: 'ms' }),
        ratioAtMost(TIME_RATIO_MAX),
      ),
      withTargets({ benchmark: BENCHMARK, name: `${label}: peak RSS added (worker + ffmpeg)`, value: peakNode + peakChild, unit: 'B' }, valueAtMost(RSS_ADDED_MAX_BYTES)),
    ];
    return {
      benchmark: BENCHMARK,
      figures,
      details: { sourceBytes, seconds, plan: result.plan, encodes: result.encodes, outputBytes: size, ssim: quality, encodeMs, peakNodeBytes: peakNode, peakFfmpegBytes: peakChild },
      notes: [
        `video fit: ${label} became ${result.plan.width}×${result.plan.height} at ${result.plan.fps} fps, ${Math.round(result.plan.videoBitsPerSec / 1000)} kbit/s video, ` +
          `${result.encodes} encode(s); RSS added is the worker's growth (${(peakNode / 2 ** 20).toFixed(1)} MiB) plus ffmpeg's own (${(peakChild / 2 ** 20).toFixed(1)} MiB).`,
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
