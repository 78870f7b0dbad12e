/**
 * `npm run bench`: every benchmark in turn, a table on stdout, bench/results.json.
 * `BENCH_QUICK=1` runs each one short (under 3 minutes in all, for CI) and still prints every
 * figure. Progress goes to stderr so that stdout is the table alone.
 */
import { benchDocumentBombs } from './document-bombs.js';
import { benchEngine } from './engine-overhead.js';
import { gcAvailable, GC_COMMAND } from './lib/memory.js';
import { benchPlan } from './lib/plan.js';
import { formatTable, resultsFile, targetSummary, writeResults, type BenchResult } from './lib/report.js';
import { benchLoad } from './load.js';
import { benchLoopback } from './loopback-rtt.js';
import { benchOnePost } from './one-post.js';
import { benchOpenTurns } from './open-turns.js';
import { benchRedisPerUser } from './redis-per-user.js';
import { benchRelay } from './relay.js';
import { benchSession } from './session-cost.js';
import { benchFalseRecovery, benchIdleRedis } from './sweeps.js';
import { benchTelegram } from './telegram-overhead.js';
import { benchTelegramPacing } from './telegram-pacing.js';
import { benchVideoFit } from './video-fit.js';
import { benchWorkerMemory } from './worker-memory.js';

const RESULTS_PATH = new URL('./results.json', import.meta.url);
// Everything is closed when the run ends; a handle left open must not keep it alive for ever.
const EXIT_GRACE_MS = 5_000;

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function timed<T extends BenchResult>(name: string, run: () => Promise<T>): Promise<T> {
  progress(`bench: ${name}…`);
  const result = await run();
  progress(`bench: ${name} done in ${(result.durationMs / 1000).toFixed(1)} s`);
  return result;
}

async function timedAll(name: string, run: () => Promise<BenchResult[]>): Promise<BenchResult[]> {
  progress(`bench: ${name}…`);
  const started = Date.now();
  const results = await run();
  progress(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return results;
}

async function main(): Promise<void> {
  if (!gcAvailable()) {
    progress(`bench: the worker memory figures need global.gc: run ${GC_COMMAND}`);
    process.exitCode = 2;
    return;
  }
  const plan = benchPlan();
  const startedAt = new Date();
  progress(`bench: ${plan.mode} mode, Node ${process.version}`);

  const loopback = await timed('raw loopback HTTP round trip', () => benchLoopback(plan));
  const results: BenchResult[] = [
    loopback,
    await timed('engine overhead per message', () => benchEngine(plan, loopback.rtt)),
    await timed('engine overhead through the Telegram adapter', () => benchTelegram(plan, loopback.rtt)),
    await timed('session cost per message', () => benchSession(plan)),
    await timed('worker memory per render in flight', () => benchWorkerMemory(plan)),
    ...(await timedAll('relay memory and speed', () => benchRelay(plan))),
    await timed('open turns', () => benchOpenTurns(plan)),
    await timed('load through the Telegram adapter', () => benchLoad(plan)),
    await timed('Telegram pacing: one budget per token, credits at once', () => benchTelegramPacing(plan)),
    await timed('one post per quick answer: first visible sign, posts per turn', () => benchOnePost(plan, loopback.rtt)),
    await timed('document bombs off the event loop', () => benchDocumentBombs(plan)),
    await timed('Redis bytes per user', () => benchRedisPerUser(plan)),
    await timed('video fit to the upload limit', () => benchVideoFit(plan)),
    await timed('Redis CPU of an idle bot', () => benchIdleRedis(plan)),
    await timed('false recoveries under load', () => benchFalseRecovery(plan)),
  ];

  const file = resultsFile(plan.mode, startedAt, results);
  process.stdout.write(`${formatTable(file.figures)}\n\n${targetSummary(file.figures)}\n\n`);
  for (const note of results.flatMap((result) => result.notes)) process.stdout.write(`${note}\n`);
  await writeResults(RESULTS_PATH, file);
  progress(`bench: ${plan.mode} run took ${(file.durationMs / 1000).toFixed(1)} s; figures in bench/results.json`);
}

try {
  await main();
} catch (error) {
  progress(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
setTimeout(() => {
  progress(`bench: a handle was still open ${EXIT_GRACE_MS} ms after the run; exiting`);
  process.exit(process.exitCode ?? 1);
}, EXIT_GRACE_MS).unref();
