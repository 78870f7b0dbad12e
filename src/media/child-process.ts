import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

// The bot's tokens stay out of a process that parses users' bytes: only what finds and runs ffmpeg.
const CHILD_ENV_KEYS = ['PATH', 'LD_LIBRARY_PATH', 'SystemRoot'] as const;

export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of CHILD_ENV_KEYS) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

let setprivPath: string | null | undefined;

/** util-linux's `setpriv`, when installed (it is in Debian's base): it ties a child's life to ours. */
function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return setprivPath;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'setpriv');
    try {
      accessSync(candidate, constants.X_OK);
      setprivPath = candidate;
      break;
    } catch {
      // Not here.
    }
  }
  return setprivPath;
}

export type ToolProcess = ChildProcessByStdio<Writable | null, Readable, Readable>;

/**
 * Spawns ffmpeg or ffprobe with a clean environment. On Linux it runs under `setpriv
 * --pdeathsig KILL`: a worker killed with SIGKILL takes its encoder with it instead of leaving
 * it running for minutes (ffmpeg ignores a closed progress pipe).
 */
export function spawnTool(command: string, args: readonly string[], options: { stdin?: boolean } = {}): ToolProcess {
  const setpriv = findSetpriv();
  const [file, argv] = setpriv === null ? [command, [...args]] : [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]];
  return spawn(file, argv, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: childEnv(),
    windowsHide: true,
  }) as ToolProcess;
}
