import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the worker keeps a video while it fits it; one directory per delivery. */
export function defaultWorkRoot(): string {
  return join(tmpdir(), 'nemo-video-bot');
}

const OWNED = /^fit-(\d+)-/;

export interface WorkDir {
  path: string;
  /** Removes the directory and all in it; never throws, safe to call twice. */
  cleanup(): Promise<void>;
}

/** A fresh directory named after this process, so a later worker knows whose it was. */
export async function makeWorkDir(root: string): Promise<WorkDir> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const path = await mkdtemp(join(root, `fit-${process.pid}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }).catch(() => undefined) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the directories of workers that died mid-fit (SIGKILL leaves no time to clean up).
 * Returns how many went. Reads one directory: never on a chat's hot path.
 */
export async function sweepOrphanWorkDirs(root: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = Number(OWNED.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid || alive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
    removed += 1;
  }
  return removed;
}
