import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from './wait-for.js';

// Resolved here, so an entry runs under tsx from any working directory.
const TSX = import.meta.resolve('tsx');
// What a test keeps of a process's stderr, for its failure message and token checks.
const STDERR_KEEP = 200_000;

export interface TestProcess {
  child: ChildProcess;
  /** Complete stdout lines starting with `prefix`. */
  lines(prefix: string): string[];
  stdout(): string;
  stderr(): string;
  exited: Promise<unknown>;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Child processes of one test file, each a TypeScript entry run with tsx that prints `READY`
 * when it is up; whatever still runs is killed after each test.
 */
export class TestProcesses {
  private readonly running: TestProcess[] = [];

  async start(entry: string, env: NodeJS.ProcessEnv, options: { readyTimeoutMs?: number } = {}): Promise<TestProcess> {
    const child = spawn(process.execPath, ['--import', TSX, entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-STDERR_KEEP)));
    const exited = once(child, 'exit');
    const started: TestProcess = {
      child,
      // The last piece may be a line still being written: only complete lines count.
      lines: (prefix) => out.split('\n').slice(0, -1).filter((line) => line.startsWith(prefix)),
      stdout: () => out,
      stderr: () => err,
      exited,
      async kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
    this.running.push(started);
    await waitFor(() => started.lines('READY').length > 0 || child.exitCode !== null, {
      timeoutMs: options.readyTimeoutMs ?? 20_000,
      message: `${entry} to print READY`,
    });
    if (child.exitCode !== null) throw new Error(`${entry} exited early: ${err}`);
    return started;
  }

  async killAll(): Promise<void> {
    for (const started of this.running.splice(0)) await started.kill();
  }
}
