import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

interface Child {
  process: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first line (seen or to come) that matches. */
  line(match: (line: string) => boolean): Promise<string>;
  exited: Promise<number | null>;
}

function startChild(mode: string, timeoutMs = 5000): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, String(timeoutMs)], { stdio: 'pipe' });
  const lines: string[] = [];
  const waiting: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiting.filter((w) => w.match(line))) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    process: child,
    lines,
    exited,
    line: (match) => {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return Promise.race([
        new Promise<string>((resolve) => waiting.push({ match, resolve })),
        exited.then((code) => Promise.reject(new Error(`child exited (${code}) before the line; got:\n${lines.join('\n')}`))),
      ]);
    },
  };
}

const logged = (msg: string) => (line: string): boolean => line.startsWith('{') && (JSON.parse(line) as { msg?: string }).msg === msg;

describe('onShutdown', () => {
  const children: Child[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  });

  const start = (mode: string, timeoutMs?: number): Child => {
    const child = startChild(mode, timeoutMs);
    children.push(child);
    return child;
  };

  it('when SIGTERM then SIGINT arrive, then the handler runs once and the process exits 0 when it is done', async () => {
    const child = start('finish-on-stdin');
    await child.line((l) => l === 'ready');

    child.process.kill('SIGTERM');
    await child.line((l) => l === 'handler:start:SIGTERM');
    child.process.kill('SIGINT');
    await child.line(logged('already shutting down'));
    child.process.stdin.write('finish\n');

    expect(await child.exited).toBe(0);
    expect(child.lines.filter((l) => l.startsWith('handler:start'))).toEqual(['handler:start:SIGTERM']);
    expect(child.lines).toContain('handler:done');
    expect(child.lines.some(logged('shut down'))).toBe(true);
  });

  it('when the handler outlives the deadline, then the process exits 1 and says so', async () => {
    const child = start('hang', 300);
    await child.line((l) => l === 'ready');

    child.process.kill('SIGINT');

    expect(await child.exited).toBe(1);
    expect(child.lines).toContain('handler:start:SIGINT');
    expect(child.lines.some(logged('shutdown deadline passed: exiting anyway'))).toBe(true);
  });

  it('when the handler throws, then the process exits 1 at once and logs the failure', async () => {
    const child = start('throw', 30_000);
    await child.line((l) => l === 'ready');

    const started = Date.now();
    child.process.kill('SIGTERM');

    expect(await child.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(child.lines.some(logged('shutdown failed'))).toBe(true);
  });
});
