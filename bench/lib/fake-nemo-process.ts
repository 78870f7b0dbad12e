import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { FakeNemoOptions } from '../../test/fakes/nemo/index.js';

/** Parent → child. */
export type FakeNemoRequest = { type: 'stats' } | { type: 'close' };

/** Child → parent. */
export type FakeNemoReply =
  | { type: 'ready'; url: string }
  | { type: 'stats'; renders: number; renderPolls: number; violations: string[] };

export interface FakeNemoStats {
  renders: number;
  renderPolls: number;
  violations: string[];
}

/** The fake NemoVideo in a child process: its records of every call stay out of our heap. */
export interface FakeNemoProcess {
  url: string;
  stats(): Promise<FakeNemoStats>;
  close(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./fake-nemo-child.ts', import.meta.url));
const REPLY_TIMEOUT_MS = 10_000;

/**
 * Starts `fake-nemo-child.ts` with this process's loader flags (tsx), hands it the options as
 * JSON (so no function-valued option), and talks to it over IPC.
 */
export async function startFakeNemoProcess(options: FakeNemoOptions): Promise<FakeNemoProcess> {
  const child = fork(CHILD, [JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const ready = await nextReply(child, 'ready');
    return {
      url: ready.url,
      async stats() {
        const answer = nextReply(child, 'stats');
        send(child, { type: 'stats' });
        const { renders, renderPolls, violations } = await answer;
        return { renders, renderPolls, violations };
      },
      async close() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        send(child, { type: 'close' });
        await withTimeout(exited, 'the fake NemoVideo process to exit').catch((error: unknown) => {
          child.kill('SIGKILL');
          throw error;
        });
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

function send(child: ChildProcess, request: FakeNemoRequest): void {
  child.send(request);
}

function nextReply<T extends FakeNemoReply['type']>(child: ChildProcess, type: T): Promise<Extract<FakeNemoReply, { type: T }>> {
  const reply = new Promise<Extract<FakeNemoReply, { type: T }>>((resolve, reject) => {
    const onMessage = (message: FakeNemoReply): void => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as Extract<FakeNemoReply, { type: T }>);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`the fake NemoVideo process exited (${code}) before answering "${type}"`));
    };
    const cleanup = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return withTimeout(reply, `the fake NemoVideo process to answer "${type}"`);
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${REPLY_TIMEOUT_MS} ms waiting for ${what}`)), REPLY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
