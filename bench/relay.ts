import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Platform } from '../src/core/types.js';
import { NemoClient } from '../src/nemo/client.js';
import { RenderQueue } from '../src/render/render-queue.js';
import { SKILL_SOURCE, VERSION } from '../src/version.js';
import { emptyDraft, videoTrack, withTracks } from '../test/fakes/nemo/index.js';
import { outputSha256 } from '../test/fakes/nemo/render.js';
import { startFakeTelegram, type FakeTelegram } from '../test/fakes/telegram/index.js';
import { withCleanup } from './lib/cleanup.js';
import { startFakeNemoProcess } from './lib/fake-nemo-process.js';
import type { BenchPlan } from './lib/plan.js';
import { startPrivateRedis } from './lib/redis-server.js';
import { startRelayWorker, type PeakReading, type RelayWorker } from './lib/relay-process.js';
import { against, ratioAtLeast, ratioAtMost, valueAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';

export const MEMORY_BENCHMARK = 'relay memory';
export const SPEED_BENCHMARK = 'relay speed';

const MIB = 1024 * 1024;
const OPERATOR_TOKEN = 'nmv_usr_bench_operator_0123456789abcdef';
const PLATFORM: Platform = 'telegram';
const PREFIX = 'bench';
// A self-hosted Bot API server's limit: every size is uploaded, none sent as a link.
const MAX_UPLOAD_MB = 2_000;
// Submit, one poll that completes, deliver: the poll comes this soon after the submit.
const POLL_INTERVAL_MS = 10;
// Before each measured size, in the same fresh process: code paths loaded, connections open.
const WARMUP_BYTES = 1 * MIB;
const JOB_POLL_MS = 20;
const DRAFT = withTracks(emptyDraft(), videoTrack('bench clip', 0, 2_000));

/** Issue 6 targets: peak RSS added ≤ 0.3 × the file (and ≤ 40 MiB at 50 MiB); speed ≥ 0.5 × the raw copy. */
export const RSS_RATIO_TARGET = 0.3;
export const RSS_AT_50_MIB_TARGET = 40 * MIB;
export const SPEED_RATIO_TARGET = 0.5;

interface SizeResult {
  sizeMiB: number;
  bytes: number;
  peak: PeakReading;
  /** Peak RSS over the baseline: the larger of VmHWM and the sampler's highest reading. */
  peakAdded: number;
  relayMicros: number[];
  rawMicros: number[];
  rawPeakAdded: number;
}

/**
 * The real render worker (own process, `createApp` with the worker on, `TelegramOutbox`)
 * delivering a finished render of 10, 25 and 50 MiB: the fake NemoVideo (own process) serves
 * the MP4 from its CDN route, streamed, never held whole; the fake Bot API (this process)
 * takes the multipart upload and hashes it. Each size gets a fresh worker process, warmed up
 * with a 1 MiB delivery; then the peak RSS the delivery adds to it is read, and its speed
 * is held against a raw copy of the same bytes between the same two servers, done in the
 * same process right after.
 */
export async function benchRelay(plan: BenchPlan): Promise<BenchResult[]> {
  const started = Date.now();
  return withCleanup(async (cleanup) => {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const fake = cleanup.add(await startFakeNemoProcess({ operatorTokens: [OPERATOR_TOKEN] }), (child) => child.close());
    const tg = cleanup.add(await startFakeTelegram({ maxUploadBytes: MAX_UPLOAD_MB * MIB }), (server) => server.close());
    const producer = cleanup.add(
      new RenderQueue({ connection: { host: '127.0.0.1', port: redisServer.port, maxRetriesPerRequest: null }, prefix: PREFIX }),
      (queue) => queue.close(),
    );
    const nemo = cleanup.add(
      new NemoClient({ baseUrl: fake.url, source: SKILL_SOURCE, version: VERSION, rateLimitRetryMs: 10, turnIdleTimeoutMs: 5_000 }),
      (client) => client.close(),
    );
    const session = await nemo.createSession({ platform: PLATFORM, token: () => Promise.resolve(OPERATOR_TOKEN) }, 'en');
    const sendVideoUrl = `${tg.url}/bot${tg.token}/sendVideo`;
    const hashes = new Map<number, string>();
    const expectedSha = (bytes: number): string => {
      let hash = hashes.get(bytes);
      if (hash === undefined) {
        hash = outputSha256({ outputSize: bytes });
        hashes.set(bytes, hash);
      }
      return hash;
    };

    /** One render of `bytes`, into a chat of its own (no pacing wait behind an earlier send); returns its CDN URL. */
    const deliver = async (bytes: number): Promise<string> => {
      const user = tg.user();
      const chat = tg.privateChat(user);
      const chatId = String(chat.id);
      const renderId = `render_${randomUUID()}`;
      await fake.scriptRender({ outputSize: bytes, pollsUntilComplete: 1 });
      await producer.enqueue({
        renderId,
        sessionKey: { platform: PLATFORM, chatId, userId: String(user.id) },
        sessionId: session.sessionId,
        address: { platform: PLATFORM, chatId, userId: String(user.id) },
        language: 'en',
        draft: DRAFT,
        correlationId: renderId,
      });
      await completed(producer, renderId, plan.relay.deliveryTimeoutMs);
      checkDelivered(tg, chatId, bytes, expectedSha(bytes));
      return `${fake.url}/cdn/${encodeURIComponent(renderId)}.mp4`;
    };
    const rawCopy = async (worker: RelayWorker, from: string, bytes: number): Promise<number> => {
      const user = tg.user();
      const chat = tg.privateChat(user);
      const copy = await worker.rawCopy(from, sendVideoUrl, String(chat.id));
      if (copy.size !== bytes) throw new Error(`raw copy moved ${copy.size} bytes, expected ${bytes}`);
      checkDelivered(tg, String(chat.id), bytes, expectedSha(bytes));
      return copy.micros;
    };

    const workerSettings = {
      nemoApiUrl: fake.url,
      redisUrl: redisServer.url,
      nemoToken: OPERATOR_TOKEN,
      prefix: PREFIX,
      telegramApiRoot: tg.url,
      telegramToken: tg.token,
      maxUploadMb: MAX_UPLOAD_MB,
      pollIntervalMs: POLL_INTERVAL_MS,
    };
    const sizes: SizeResult[] = [];
    const largest = Math.max(...plan.relay.sizesMiB);
    for (const sizeMiB of plan.relay.sizesMiB) {
      const bytes = sizeMiB * MIB;
      // Run as deployed (NODE_FLAGS: npm start, the image, docker-compose.yml).
      const worker = await startRelayWorker(workerSettings);
      try {
        const warmUrl = await deliver(WARMUP_BYTES);
        await rawCopy(worker, warmUrl, WARMUP_BYTES);

        await worker.arm();
        const cdnUrl = await deliver(bytes);
        const peak = await worker.peak();
        if (peak.errorsLogged > 0) throw new Error(`the worker logged ${peak.errorsLogged} errors; the last: ${peak.lastError}`);
        const relayMicros = peak.videos.filter((video) => video.size === bytes).map((video) => video.micros);
        if (relayMicros.length !== 1) throw new Error(`expected one ${sizeMiB} MiB sendVideo, saw ${relayMicros.length}`);

        await worker.arm();
        const rawMicros = [await rawCopy(worker, cdnUrl, bytes)];
        const rawPeak = await worker.peak();

        // The speed figure: more rounds of the largest file, relay and raw copy alternating.
        for (let round = 1; sizeMiB === largest && round < plan.relay.speedRounds; round++) {
          await worker.arm();
          const url = await deliver(bytes);
          const reading = await worker.peak();
          relayMicros.push(...reading.videos.filter((video) => video.size === bytes).map((video) => video.micros));
          rawMicros.push(await rawCopy(worker, url, bytes));
        }
        sizes.push({ sizeMiB, bytes, peak, peakAdded: peakAdded(peak), relayMicros, rawMicros, rawPeakAdded: peakAdded(rawPeak) });
      } finally {
        await worker.close();
      }
    }
    // For comparison: the largest delivery in a worker with Node's default young generation.
    const plainWorker = await startRelayWorker(workerSettings, []);
    let plainPeakAdded: number;
    try {
      await deliver(WARMUP_BYTES);
      await plainWorker.arm();
      await deliver(largest * MIB);
      plainPeakAdded = peakAdded(await plainWorker.peak());
    } finally {
      await plainWorker.close();
    }

    const stats = await fake.stats();
    if (stats.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${stats.violations.join('; ')}`);
    if (tg.violations.length > 0) throw new Error(`the fake Bot API saw contract violations: ${tg.violations.join('; ')}`);

    const memoryFigures: Figure[] = sizes.map((size) => {
      const figure = against(
        { benchmark: MEMORY_BENCHMARK, name: `${size.sizeMiB} MiB: peak RSS added`, value: size.peakAdded, unit: 'B' },
        { name: 'file size', value: size.bytes, unit: 'B' },
      );
      return size.sizeMiB === 50
        ? withTargets(figure, ratioAtMost(RSS_RATIO_TARGET), valueAtMost(RSS_AT_50_MIB_TARGET))
        : withTargets(figure, ratioAtMost(RSS_RATIO_TARGET));
    });
    memoryFigures.push(
      against(
        { benchmark: MEMORY_BENCHMARK, name: `${largest} MiB, default young generation: peak RSS added`, value: plainPeakAdded, unit: 'B' },
        { name: 'file size', value: largest * MIB, unit: 'B' },
      ),
    );
    const fastest = sizes.find((size) => size.sizeMiB === largest);
    const speedFigures: Figure[] = [];
    if (fastest) {
      const relaySpeed = fastest.bytes / (median(fastest.relayMicros) / 1e6);
      const rawSpeed = fastest.bytes / (median(fastest.rawMicros) / 1e6);
      speedFigures.push(
        withTargets(
          against(
            { benchmark: SPEED_BENCHMARK, name: `${fastest.sizeMiB} MiB: download + upload`, value: relaySpeed, unit: 'B/s' },
            { name: 'raw loopback copy', value: rawSpeed, unit: 'B/s' },
          ),
          ratioAtLeast(SPEED_RATIO_TARGET),
        ),
      );
    }
    const perSize = sizes.map((size) => ({
      sizeMiB: size.sizeMiB,
      rssBefore: size.peak.rssBefore,
      vmHwm: size.peak.hwm,
      sampledPeak: size.peak.sampledPeak,
      peakAdded: size.peakAdded,
      peakAddedOverFile: size.peakAdded / size.bytes,
      rawCopyPeakAdded: size.rawPeakAdded,
      relayMs: size.relayMicros.map((micros) => micros / 1000),
      rawCopyMs: size.rawMicros.map((micros) => micros / 1000),
      relayMiBps: size.bytes / MIB / (median(size.relayMicros) / 1e6),
      rawCopyMiBps: size.bytes / MIB / (median(size.rawMicros) / 1e6),
    }));
    const notes = [
      `relay: peak RSS added by the delivery / by the raw copy, and speeds (MiB/s, relay vs raw): ` +
        perSize
          .map(
            (size) =>
              `${size.sizeMiB} MiB ${(size.peakAdded / MIB).toFixed(1)} / ${(size.rawCopyPeakAdded / MIB).toFixed(1)} MiB, ` +
              `${size.relayMiBps.toFixed(0)} vs ${size.rawCopyMiBps.toFixed(0)}`,
          )
          .join('; ') +
        ` (peak from ${sizes.every((size) => size.peak.hwm !== undefined) ? 'VmHWM and a 5 ms RSS sampler' : 'a 5 ms RSS sampler'})`,
    ];
    const durationMs = Date.now() - started;
    const details = { maxUploadMb: MAX_UPLOAD_MB, warmupBytes: WARMUP_BYTES, speedRounds: plan.relay.speedRounds, sizes: perSize };
    return [
      { benchmark: MEMORY_BENCHMARK, figures: memoryFigures, details, notes, durationMs },
      { benchmark: SPEED_BENCHMARK, figures: speedFigures, details: { sizeMiB: largest }, notes: [], durationMs: 0 },
    ];
  });
}

function peakAdded(reading: PeakReading): number {
  return Math.max(reading.hwm ?? 0, reading.sampledPeak) - reading.rssBefore;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('median of no values');
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Waits for the render job to finish; it must end `delivered` (streamed, not sent as a link). */
async function completed(queue: RenderQueue, renderId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.queue.getJob(renderId);
    const state = job === undefined ? 'missing' : await job.getState();
    if (state === 'completed') {
      // Read again: the job fetched above may predate the completion (its return value unset).
      const outcome: unknown = (await queue.queue.getJob(renderId))?.returnvalue;
      if (outcome !== 'delivered') throw new Error(`render ${renderId} ended ${String(outcome)}, not delivered`);
      return;
    }
    if (state === 'failed') throw new Error(`render ${renderId} failed: ${job?.failedReason ?? 'unknown reason'}`);
    if (Date.now() >= deadline) throw new Error(`render ${renderId} not delivered after ${timeoutMs} ms (state ${state})`);
    await delay(JOB_POLL_MS);
  }
}

/** The chat got one video of exactly these bytes. */
function checkDelivered(tg: FakeTelegram, chatId: string, bytes: number, sha256: string): void {
  const videos = tg.sent.filter((message) => message.chatId === chatId && message.kind === 'video');
  const file = videos[0]?.file;
  if (videos.length !== 1 || file === undefined) throw new Error(`chat ${chatId} got ${videos.length} videos, expected 1`);
  if (file.size !== bytes || file.sha256 !== sha256) throw new Error(`chat ${chatId} got ${file.size} bytes (sha256 ${file.sha256}), expected ${bytes}`);
}
