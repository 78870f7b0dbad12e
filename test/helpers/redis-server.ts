import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';

export interface RedisServerOptions {
  /** AOF with fsync on every write, so `restart()` keeps the data. */
  appendOnly?: boolean;
  /** Data directory; a fresh temp dir when absent. */
  dir?: string;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** Stops (SHUTDOWN, then SIGTERM) and starts again on the same port and dir. */
  restart(): Promise<void>;
  /** SIGKILL: no shutdown save, like a crash. */
  kill(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const NOT_FOUND =
  'redis-server not found: install it (apt-get install redis-server) — the tests need a real Redis';

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = findBinary('redis-server');
  if (binary === undefined) throw new Error(NOT_FOUND);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'nemo-redis-')));
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'no',
    '--dir', dir,
    '--save', '',
    '--appendonly', options.appendOnly === true ? 'yes' : 'no',
    ...(options.appendOnly === true ? ['--appendfsync', 'always'] : []),
    '--loglevel', 'warning',
  ];
  let child = await launch(binary, args, port);

  const stopChild = async (signal: NodeJS.Signals | 'shutdown'): Promise<void> => {
    const current = child;
    if (current.exitCode !== null || current.signalCode !== null) return;
    const exited = once(current, 'exit');
    if (signal === 'shutdown') {
      // SHUTDOWN closes the AOF cleanly; SIGTERM is the fallback when the command cannot be sent.
      const ok = await sendShutdown(port);
      if (!ok) current.kill('SIGTERM');
    } else {
      current.kill(signal);
    }
    await exited;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop: () => stopChild('shutdown'),
    kill: () => stopChild('SIGKILL'),
    async restart() {
      await stopChild('shutdown');
      child = await launch(binary, args, port);
    },
  };
}

function findBinary(name: string): string | undefined {
  for (const part of (process.env.PATH ?? '').split(delimiter)) {
    if (part === '') continue;
    const candidate = join(part, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Asks the OS for a free port by listening on 0; the tiny race before redis binds it is accepted. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited before it was ready: ${output.trim()}`);
    if (await answersPing(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} not ready after ${READY_TIMEOUT_MS} ms: ${output.trim()}`);
}

async function answersPing(port: number): Promise<boolean> {
  const client = probeClient(port);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function sendShutdown(port: number): Promise<boolean> {
  const client = probeClient(port);
  try {
    await client.connect();
    // The server closes the connection instead of answering, so the reply is an error or nothing.
    await client.call('SHUTDOWN').catch(() => undefined);
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function probeClient(port: number): Redis {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  // Refused connections while redis boots are expected; without a listener ioredis prints them.
  client.on('error', () => undefined);
  return client;
}
