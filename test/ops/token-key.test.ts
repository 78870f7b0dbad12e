import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenKeyFileError, terminalTokenKey, warnIfTokensInClear } from '../../src/ops/token-key.js';
import { testRedis } from '../helpers/redis.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nvb-token-key-'));
  dirs.push(dir);
  return dir;
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

/** `npm start -- console` with no terminal attached: stdin ends at once, so the chat closes and the process exits. */
async function runConsole(cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const { url, prefix } = testRedis();
  const child = spawn(process.execPath, ['--import', TSX, MAIN, 'console'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', REDIS_URL: url, REDIS_PREFIX: prefix.replace(/:$/, ''), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('the terminal chat’s own token key', () => {
  it('when none exists, then one is made readable by the owner only, and the next call reads the same key', async () => {
    const dir = join(await scratch(), '.data');
    const first = terminalTokenKey(dir);
    expect(first).toHaveLength(32);
    expect(await modeOf(join(dir, 'token-key'))).toBe(0o600);
    expect(terminalTokenKey(dir).equals(first)).toBe(true);
  });

  it('when the file was copied in with looser rights, then it is tightened and still used', async () => {
    const dir = await scratch();
    const key = Buffer.alloc(32, 3);
    await writeFile(join(dir, 'token-key'), key.toString('base64'));
    await chmod(join(dir, 'token-key'), 0o644);
    expect(terminalTokenKey(dir).equals(key)).toBe(true);
    expect(await modeOf(join(dir, 'token-key'))).toBe(0o600);
  });

  it('when the file holds something else, then a typed error names the file and never its content', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'token-key'), 'not-a-key-at-all');
    const error = (() => {
      try {
        terminalTokenKey(dir);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(TokenKeyFileError);
    expect((error as TokenKeyFileError).code).toBe('token_key_file_invalid');
    expect((error as Error).message).not.toContain('not-a-key-at-all');
  });

  it('when a key is set, then nothing is said; without one, one warning', () => {
    const lines: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => void lines.push(args) };
    warnIfTokensInClear(Buffer.alloc(32), logger as never);
    expect(lines).toHaveLength(0);
    warnIfTokensInClear(undefined, logger as never);
    expect(lines).toHaveLength(1);
    expect(String(lines[0]?.[0])).toMatch(/stored in clear.*openssl rand -base64 32/);
  });

  it('when the terminal chat starts twice without TOKEN_ENCRYPTION_KEY, then it makes .data/token-key (0600) once, reuses it, and does not warn', async () => {
    const cwd = await scratch();
    const first = await runConsole(cwd, {});
    expect(first.code, first.output).toBe(0);
    const path = join(cwd, '.data', 'token-key');
    expect(await modeOf(path)).toBe(0o600);
    const key = await readFile(path, 'utf8');
    expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);

    const second = await runConsole(cwd, {});
    expect(second.code, second.output).toBe(0);
    expect(await readFile(path, 'utf8')).toBe(key);
    const log = await readFile(join(cwd, '.data', 'console.log'), 'utf8');
    expect(log).toMatch(/"level":\d+/);
    expect(log).not.toMatch(/stored in clear/);
  }, 90_000);

  it('when the terminal chat is given TOKEN_ENCRYPTION_KEY, then it uses that and makes no file', async () => {
    const cwd = await scratch();
    const run = await runConsole(cwd, { TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') });
    expect(run.code, run.output).toBe(0);
    await expect(stat(join(cwd, '.data', 'token-key'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);
});
