import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pty from '@lydell/node-pty';
import xterm from '@xterm/headless';
import { FAST_ENV } from '../e2e/console-harness.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
// Resolved here: the process runs in a scratch folder, where `tsx` would not be found.
const TSX = new URL(import.meta.resolve('tsx')).pathname;
const COLS = 120;

/** `npm start -- console` in a pseudo-terminal, typed into as a person types, its screen kept by a headless xterm. */
export interface PtyChat {
  readonly cwd: string;
  /** The settings it was started with (without the defaults added here). */
  readonly env: Record<string, string>;
  /** Everything written, escapes and all. */
  raw(): string;
  /** The screen's lines (scrollback included), as a person sees them. */
  screen(): Promise<string[]>;
  /** Types the text and Enter. */
  typeLine(text: string): void;
  /** Types keys as they are (e.g. '\x03' is Ctrl-C). */
  press(keys: string): void;
  /** Waits until the screen's text after `from` (a count of screen lines) matches. */
  waitScreen(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<{ exitCode: number; signal?: number | undefined }>;
  kill(): void;
}

export async function spawnPtyChat(options: { env: Record<string, string>; args?: string[]; node?: string; cwd?: string }): Promise<PtyChat> {
  const cwd = options.cwd ?? (await mkdtemp(join(tmpdir(), 'nvb-pty-')));
  const term = new xterm.Terminal({ cols: COLS, rows: 40, scrollback: 5000, allowProposedApi: true });
  const child = pty.spawn(options.node ?? process.execPath, ['--import', TSX, MAIN, ...(options.args ?? ['console'])], {
    cols: COLS,
    rows: 40,
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, TERM: 'xterm-256color', LANG: 'C.UTF-8', ...FAST_ENV, LOG_LEVEL: 'info', ...options.env },
  });
  let raw = '';
  let pending = Promise.resolve();
  child.onData((data) => {
    raw += data;
    pending = pending.then(() => new Promise<void>((done) => term.write(data, done)));
  });
  const exited = new Promise<{ exitCode: number; signal?: number | undefined }>((done) => child.onExit(done));
  let alive = true;
  void exited.then(() => (alive = false));

  const screen = async (): Promise<string[]> => {
    await pending;
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  };
  let latest = '';
  return {
    cwd,
    env: options.env,
    raw: () => raw,
    screen,
    typeLine: (text) => child.write(`${text}\r`),
    press: (keys) => child.write(keys),
    async waitScreen(pattern, timeoutMs = 30_000) {
      try {
        await waitFor(
          async () => {
            latest = (await screen()).join('\n');
            return pattern.test(latest);
          },
          { timeoutMs, message: `screen matching ${pattern}` },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; the screen shows:\n${latest}`, { cause: error });
      }
      return latest;
    },
    exited,
    kill: () => {
      if (alive) child.kill('SIGKILL');
    },
  };
}
