import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'undici';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './redis-server.js';

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

// A port picked free can be taken before the child binds it (another process's outgoing
// connection gets it as its local port): the child says so and exits, and is started again.
const PORT_TAKEN = /is already in use \(HTTP_PORT\)/;
const PORT_ATTEMPTS = 3;

export function spawnMain(options: { name: string; mode: MainMode; port: number; cwd: string; env: Record<string, string> }): MainProcess {
  let text = '';
  const collect = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    if (text.length > KEEP_OUTPUT_CHARS) text = text.slice(-KEEP_OUTPUT_CHARS);
  };
  const launch = (port: number) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, options.mode], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env, HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // 'close', not 'exit': by then all it wrote has been read.
    return { port, child, from: text.length, exited: once(child, 'close').then(() => undefined) };
  };
  let current = launch(options.port);
  let attempts = 1;
  const alive = (): boolean => current.child.exitCode === null && current.child.signalCode === null;

  return {
    name: options.name,
    mode: options.mode,
    get port() {
      return current.port;
    },
    get child() {
      return current.child;
    },
    output: () => text,
    alive,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (!alive()) {
          await current.exited;
          if (!PORT_TAKEN.test(text.slice(current.from)) || attempts >= PORT_ATTEMPTS) {
            throw new Error(`${options.name} exited (${current.child.exitCode ?? current.child.signalCode}) before it was ready; it wrote:\n${text.slice(-4000)}`);
          }
          text += `\n[test] ${options.name}: port ${current.port} was taken; starting again on another\n`;
          attempts += 1;
          current = launch(await freePort());
          continue;
        }
        if ((await readyz(current.port)) === 200) return;
        await delay(100);
      }
      throw new Error(`${options.name} did not answer /readyz with 200 within ${timeoutMs} ms; it wrote:\n${text.slice(-4000)}`);
    },
    async metrics() {
      try {
        const answer = await request(`http://127.0.0.1:${current.port}/metrics`, { headersTimeout: 3000, bodyTimeout: 3000 });
        return answer.statusCode === 200 ? await answer.body.text() : (await answer.body.dump(), '');
      } catch {
        return '';
      }
    },
    async kill() {
      if (alive()) current.child.kill('SIGKILL');
      await current.exited;
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
