import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** Every message either way names its kind; the parent asks, the child answers. */
export interface Message {
  type: string;
}

type ReplyOf<Reply extends Message, T extends Reply['type']> = Extract<Reply, { type: T }>;

/** A benchmark helper running in its own process, talked to over IPC. */
export interface Child<Request extends Message, Reply extends Message> {
  /** `timeoutMs`: how long the answer may take (default 15 s). */
  ask<T extends Reply['type']>(request: Request, replyType: T, timeoutMs?: number): Promise<ReplyOf<Reply, T>>;
  /** Sends `request` (the child's close), waits for the exit, kills it if it does not come. */
  stop(request: Request): Promise<void>;
}

const TIMEOUT_MS = 15_000;

/**
 * Forks `entry` with this process's flags (the tsx loader, `--expose-gc`), passes `settings`
 * as JSON in argv (so plain data only) and waits for its `ready` reply. Children exit when
 * the IPC channel closes, so none outlives a killed benchmark.
 */
export async function startChild<Request extends Message, Reply extends Message>(
  entry: URL,
  settings: unknown,
  /** Node flags added to this process's own (e.g. the V8 flags a deployed process runs with). */
  nodeFlags: readonly string[] = [],
): Promise<{ child: Child<Request, Reply>; ready: ReplyOf<Reply, 'ready'> }> {
  const subprocess = fork(fileURLToPath(entry), [JSON.stringify(settings)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...nodeFlags],
  });
  const child: Child<Request, Reply> = {
    ask(request, replyType, timeoutMs = TIMEOUT_MS) {
      const reply = nextReply<Reply, typeof replyType>(subprocess, replyType, timeoutMs);
      subprocess.send(request);
      return reply;
    },
    async stop(request) {
      if (subprocess.exitCode !== null || subprocess.signalCode !== null) return;
      const exited = once(subprocess, 'exit');
      subprocess.send(request);
      try {
        await withTimeout(exited, `${entry.pathname} to exit`);
      } catch (error) {
        subprocess.kill('SIGKILL');
        throw error;
      }
    },
  };
  try {
    // Every child announces itself with `ready`; the protocol types cannot say so, hence the casts.
    const ready = (await nextReply<Reply, Reply['type']>(subprocess, 'ready' as Reply['type'])) as ReplyOf<Reply, 'ready'>;
    return { child, ready };
  } catch (error) {
    subprocess.kill('SIGKILL');
    throw error;
  }
}

function nextReply<Reply extends Message, T extends Reply['type']>(subprocess: ChildProcess, type: T, timeoutMs = TIMEOUT_MS): Promise<ReplyOf<Reply, T>> {
  const reply = new Promise<ReplyOf<Reply, T>>((resolve, reject) => {
    const onMessage = (message: Reply): void => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as ReplyOf<Reply, T>);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child process exited (${code}) before answering "${type}"`));
    };
    const cleanup = (): void => {
      subprocess.off('message', onMessage);
      subprocess.off('exit', onExit);
    };
    subprocess.on('message', onMessage);
    subprocess.once('exit', onExit);
  });
  return withTimeout(reply, `a "${type}" answer from a child process`, timeoutMs);
}

async function withTimeout<T>(promise: Promise<T>, what: string, timeoutMs = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The child's side: answers the parent's requests with `handle`, then exits once the IPC
 * channel closes (after a `close` request, or when the parent is gone).
 */
export function serveParent<Request extends Message, Reply extends Message>(
  handle: (request: Request) => Promise<Reply | undefined>,
  shutdown: () => Promise<void>,
): { reply(message: Reply): void } {
  const reply = (message: Reply): void => {
    process.send?.(message);
  };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= shutdown());
  process.on('message', (request: Request) => {
    if (request.type === 'close') {
      void close().finally(() => process.disconnect());
      return;
    }
    handle(request).then(
      (answer) => answer && reply(answer),
      (error: unknown) => {
        process.stderr.write(`bench child failed on "${request.type}": ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
        process.disconnect();
      },
    );
  });
  process.on('disconnect', () => void close().finally(() => process.exit()));
  return { reply };
}
