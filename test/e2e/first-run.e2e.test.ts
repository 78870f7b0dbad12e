import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../src/node-version.js';
import { freePort } from '../helpers/redis-server.js';
import { silentServer } from '../helpers/silent-server.js';
import { testRedis } from '../helpers/redis.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const TSX = new URL(import.meta.resolve('tsx')).pathname;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `npm start -- <args>` as a new user runs it, stdin not a terminal, in a fresh folder. */
async function run(args: string[], env: Record<string, string> = {}, node = process.execPath, preload: string[] = []): Promise<Run> {
  const cwd = await mkdtemp(join(tmpdir(), 'nvb-first-run-'));
  const started = Date.now();
  const child = spawn(node, ['--import', TSX, ...preload.flatMap((p) => ['--import', p]), MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((done) => child.on('exit', (exitCode) => done(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** A port that accepts connections and never answers on them. */
async function listening(): Promise<number> {
  const server = await silentServer();
  closers.push(() => server.close());
  return server.port;
}

/** A Node older than 22.19 on this machine (Debian's is 18 or 20), if there is one. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(candidate)) continue;
    try {
      const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      if (nodeVersionProblem(version)) return candidate;
    } catch {
      // Not runnable: try the next.
    }
  }
  return undefined;
}

describe('the Node version check', () => {
  it('when the version is below 22.19, then the problem names the version found, the one needed and how to get it', () => {
    for (const old of ['18.19.0', '20.20.2', '22.18.9']) {
      const line = nodeVersionProblem(old, '/usr/bin/node');
      expect(line).toContain(`Node.js ${old}`);
      expect(line).toContain('22.19 or newer');
      expect(line).toMatch(/npm install -g --prefix "\$HOME\/\.node24" node@24/);
      expect(line).not.toContain('\n');
    }
    for (const fine of ['22.19.0', '23.0.0', '24.11.1', '30.1.0']) expect(nodeVersionProblem(fine)).toBeUndefined();
  });

  it('when main starts on an old Node, then it prints one line and exits 1 before loading anything else', async () => {
    // A real old Node where the machine has one (Debian 12's is 18, this image's is 20); else this Node told it is 20.
    const node = oldNode();
    const dir = await mkdtemp(join(tmpdir(), 'nvb-old-node-'));
    const pretend = join(dir, 'pretend-node-20.mjs');
    await writeFile(pretend, "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.11.1' } });\n");
    // Settings that would make the start fail otherwise: the check must come first.
    const result = await run(['console'], { REDIS_URL: 'redis://127.0.0.1:1', HTTP_PORT: 'not a port' }, node ?? process.execPath, node ? [] : [pretend]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/needs Node\.js 22\.19 or newer .* but this is Node\.js (18|20)\./);
    expect(lines[0]).toMatch(/node@24/);
  }, 90_000);

  it('when the compiled entry (what npm start runs) starts on an old Node, then it prints the same one line and exits 1', async () => {
    // main.js and node-version.js as tsc emits them for dist/ (ES2023, ES modules): the check must not
    // need start.js, which is left out here, nor anything else.
    const dist = await mkdtemp(join(tmpdir(), 'nvb-dist-'));
    await writeFile(join(dist, 'package.json'), '{"type":"module"}\n');
    for (const name of ['main', 'node-version']) {
      const source = await readFile(new URL(`../../src/${name}.ts`, import.meta.url), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true },
        fileName: `${name}.ts`,
      });
      await writeFile(join(dist, `${name}.js`), outputText);
    }
    const node = oldNode();
    const pretend = join(dist, 'pretend-node-20.mjs');
    await writeFile(pretend, "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.11.1' } });\n");
    const args = [...(node ? [] : ['--import', pretend]), '--max-semi-space-size=1', join(dist, 'main.js')];
    const child = spawn(node ?? process.execPath, args, { cwd: dist, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((done) => child.on('exit', (exitCode) => done(exitCode)));

    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/needs Node\.js 22\.19 or newer .* but this is Node\.js (18|20)\./);
  }, 60_000);
});

describe('starting up', () => {
  it('when --help or --version is asked, then usage or the version is printed and nothing starts', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: npm start -- \[mode\]/);
    expect(help.stdout).toMatch(/console\s+the terminal chat/);
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  }, 90_000);

  it('when REDIS_URL points at a closed port, then the start ends within 5 s with one line naming REDIS_URL and not its password', async () => {
    const url = `redis://app:hunter2secret@127.0.0.1:${await freePort()}/0`;
    // Loading the sources under tsx on a busy machine takes seconds that `npm start` (compiled) does not
    // spend: `--version` loads the same modules and stops, so the bound is on what comes after loading.
    const loading = await run(['--version']);
    const result = await run(['all'], { REDIS_URL: url, HTTP_PORT: '0' });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^REDIS_URL \(redis:\/\/127\.0\.0\.1:\d+\/0\) does not answer \(connection refused\)/);
    expect(result.stderr + result.stdout).not.toContain('hunter2secret');
    // A second of the 5 s is left for loading the compiled build.
    expect(result.ms - loading.ms).toBeLessThan(4_000);
  }, 90_000);

  it('when REDIS_URL accepts connections and never answers, then the start ends after the 3 s check with one line naming REDIS_URL', async () => {
    const port = await listening();
    const result = await run(['all'], { REDIS_URL: `redis://127.0.0.1:${port}`, HTTP_PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^REDIS_URL \(redis:\/\/127\.0\.0\.1:\d+\) does not answer \(no answer within 3 s\)/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  }, 90_000);

  it('when HTTP_PORT is taken, then the start ends with one line naming HTTP_PORT', async () => {
    const port = await listening();
    const redis = testRedis();
    const result = await run(['worker'], { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix.replace(/:$/, ''), HTTP_PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`Port ${port} is already in use \\(HTTP_PORT\\): stop what listens there, or set HTTP_PORT to a free port\\.`));
  }, 90_000);

  it('when OPS_HTTP_PORT is taken, then the line names OPS_HTTP_PORT', async () => {
    const port = await listening();
    const redis = testRedis();
    const result = await run(['worker'], {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix.replace(/:$/, ''),
      HTTP_PORT: '0',
      OPS_HTTP_PORT: String(port),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`Port ${port} is already in use \\(OPS_HTTP_PORT\\)`));
  }, 90_000);
});
