import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'undici';
import { setTimeout as delay } from 'node:timers/promises';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
// Resolved here: the processes run in a scratch folder, where `tsx` would not be found.
const TSX = import.meta.resolve('tsx');
// Enough of a process's output to explain a failure, and to search for leaked tokens.
const KEEP_OUTPUT_CHARS = 4 * 1024 * 1024;

export type MainMode = 'all' | 'bot' | 'worker';

/** One `npm start -- <mode>` process (src/main.ts under tsx), as a deployment runs it. */
export interface MainProcess {
  readonly name: string;
  readonly mode: MainMode;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it wrote (stdout and stderr), the last few MB. */
  output(): string;
  /** Resolves when /readyz answers 200; rejects when the process exits first or the time is up. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no shutdown hook runs, like a crash or an OOM kill. */
  kill(): Promise<void>;
  alive(): boolean;
  /** The Prometheus text of /metrics ('' when it does not answer). */
  metrics(): Promise<string>;
}

export function spawnMain(options: { name: string; mode: MainMode; port: number; cwd: string; env: Record<string, string> }): MainProcess {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, options.mode], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env, HTTP_PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const collect = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > KEEP_OUTPUT_CHARS) text = text.slice(-KEEP_OUTPUT_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(() => undefined);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;

  return {
    name: options.name,
    mode: options.mode,
    port: options.port,
    child,
    output: () => text,
    alive,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (!alive()) throw new Error(`${options.name} exited (${child.exitCode ?? child.signalCode}) before it was ready; it wrote:\n${text.slice(-4000)}`);
        if ((await readyz(options.port)) === 200) return;
        await delay(100);
      }
      throw new Error(`${options.name} did not answer /readyz with 200 within ${timeoutMs} ms; it wrote:\n${text.slice(-4000)}`);
    },
    async metrics() {
      try {
        const answer = await request(`http://127.0.0.1:${options.port}/metrics`, { headersTimeout: 3000, bodyTimeout: 3000 });
        return answer.statusCode === 200 ? await answer.body.text() : (await answer.body.dump(), '');
      } catch {
        return '';
      }
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function readyz(port: number): Promise<number> {
  try {
    const answer = await request(`http://127.0.0.1:${port}/readyz`, { headersTimeout: 3000, bodyTimeout: 3000 });
    await answer.body.dump();
    return answer.statusCode;
  } catch {
    return 0;
  }
}
