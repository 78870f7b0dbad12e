import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { connectRedis } from './lib/redis-connection.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** No Redis to use and none to start: the message is the one line a new user needs. */
export class RedisUnavailableError extends Error {
  readonly code = 'redis_unavailable';
  constructor() {
    super(
      'No Redis found: install one (apt-get install redis-server, or brew install redis) or set REDIS_URL to a running Redis.',
    );
    this.name = 'RedisUnavailableError';
  }
}

/** redis-server was found but did not come up; carries its last log line. */
export class RedisStartError extends Error {
  readonly code = 'redis_start_failed';
  constructor(detail: string) {
    super(`The private redis-server did not start: ${detail}`);
    this.name = 'RedisStartError';
  }
}

export interface EnsureRedisOptions {
  redisUrl: string;
  /** REDIS_URL was set: use it as is, start nothing. */
  explicit: boolean;
  /** Where a private server keeps its append-only files, e.g. `./.data/redis`. */
  dataDir: string;
  log: (line: string) => void;
  /** The Redis to try before starting one; tests point it at a free port. */
  probeUrl?: string;
  /** The server binary, looked up on PATH by default. */
  redisServerBin?: string;
  startTimeoutMs?: number;
}

export interface RunningRedis {
  url: string;
  /** Stops a server this call started; a no-op for any other. */
  stop(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 500;
const STOP_TIMEOUT_MS = 5_000;
const STATE_FILE = 'autostart.json';
const PORT_ATTEMPTS = 3;

/** Finds a Redis for the process: the configured one, a local default one, or a private one. */
export async function ensureRedis(options: EnsureRedisOptions): Promise<RunningRedis> {
  if (options.explicit) return { url: options.redisUrl, stop: async () => {} };

  const probeUrl = options.probeUrl ?? DEFAULT_REDIS_URL;
  if (await answersPing(probeUrl)) {
    options.log(`Using the Redis at ${probeUrl}.`);
    return { url: probeUrl, stop: async () => {} };
  }

  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });

  // Two servers on one append-only directory would overwrite each other's files, so a
  // server another process of ours started on this directory is shared instead.
  const shared = await privateServerOf(dataDir);
  if (shared) {
    options.log(`Using the private Redis another process started at ${shared} (data in ${dataDir}).`);
    return { url: shared, stop: async () => {} };
  }

  const bin = options.redisServerBin ?? 'redis-server';
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  let lastProblem = 'unknown';
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const started = await startServer(bin, dataDir, port, deadline);
    if ('server' in started) {
      await writeFile(join(dataDir, STATE_FILE), JSON.stringify({ port, pid: started.server.pid }));
      options.log(`Started a private Redis on 127.0.0.1:${port} (data in ${dataDir}); set REDIS_URL to use your own.`);
      return started.server;
    }
    lastProblem = started.problem;
    // Only a port taken between choosing it and binding it is worth another try.
    if (!/address already in use/i.test(lastProblem) || Date.now() >= deadline) break;
  }
  throw new RedisStartError(lastProblem);
}

type StartResult = { server: RunningRedis & { pid: number } } | { problem: string };

async function startServer(bin: string, dataDir: string, port: number, deadline: number): Promise<StartResult> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'no',
    '--dir', dataDir,
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--daemonize', 'no',
  ];
  // Its own process group: the terminal's Ctrl-C must not reach it; we stop it ourselves (SIGTERM, then wait).
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail: string[] = [];
  const remember = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) tail.push(line.trim());
    }
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  // Both pipes are drained for the server's whole life, or a chatty server would block on them.
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: NodeJS.ErrnoException }>(
    (done) => {
      child.once('error', (error: NodeJS.ErrnoException) => done({ code: null, signal: null, spawnError: error }));
      child.once('exit', (code, signal) => done({ code, signal }));
    },
  );

  const url = `redis://127.0.0.1:${port}`;
  let gone: Awaited<typeof exited> | undefined;
  void exited.then((result) => {
    gone = result;
  });
  while (!gone && Date.now() < deadline) {
    if (await answersPing(url)) break;
    await Promise.race([exited, delay(100)]);
  }

  if (gone?.spawnError) {
    if (gone.spawnError.code === 'ENOENT' || gone.spawnError.code === 'EACCES') throw new RedisUnavailableError();
    return { problem: gone.spawnError.message };
  }
  if (gone) return { problem: tail.at(-1) ?? `exited with ${gone.code ?? gone.signal}` };
  if (!(await answersPing(url))) {
    await stopChild(child, exited);
    return { problem: `no answer on ${url} in time` };
  }

  // Never holds the parent open, and never outlives it when the parent exits normally.
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.on('exit', killOnExit);
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      await stopChild(child, exited);
      await removeStateFile(dataDir, child.pid);
    })();
    return stopping;
  };
  return { server: { url, pid: child.pid ?? 0, stop } };
}

/** SIGTERM lets Redis flush its append-only file; SIGKILL only if it hangs. */
async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((done) => {
      timer = setTimeout(() => done(true), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function privateServerOf(dataDir: string): Promise<string | undefined> {
  let port: unknown;
  try {
    port = (JSON.parse(await readFile(join(dataDir, STATE_FILE), 'utf8')) as { port?: unknown }).port;
  } catch {
    return undefined;
  }
  if (typeof port !== 'number') return undefined;
  const url = `redis://127.0.0.1:${port}`;
  // The port may have been reused by an unrelated Redis since: it must serve this directory.
  const dir = await configDir(url);
  if (!dir) return undefined;
  const [served, wanted] = await Promise.all([realpath(dir).catch(() => dir), realpath(dataDir)]);
  return served === wanted ? url : undefined;
}

async function removeStateFile(dataDir: string, pid: number | undefined): Promise<void> {
  try {
    const state = JSON.parse(await readFile(join(dataDir, STATE_FILE), 'utf8')) as { pid?: unknown };
    if (state.pid === pid) await rm(join(dataDir, STATE_FILE), { force: true });
  } catch {
    // Already gone or replaced: nothing of ours to remove.
  }
}

async function answersPing(url: string): Promise<boolean> {
  return (await withQuickClient(url, async (redis) => (await redis.ping()) === 'PONG')) ?? false;
}

async function configDir(url: string): Promise<string | undefined> {
  return withQuickClient(url, async (redis) => {
    const reply = (await redis.config('GET', 'dir')) as unknown;
    return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
  });
}

/** One short-lived connection that gives up fast instead of retrying: undefined when no answer. */
async function withQuickClient<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T | undefined> {
  // Failures are the answer here: a probe has an error listener and never retries.
  const redis = connectRedis({ url }, { role: 'probe', timeoutMs: PROBE_TIMEOUT_MS });
  try {
    await redis.connect();
    return await use(redis);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') done(address.port);
        else fail(new Error('no port assigned'));
      });
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
