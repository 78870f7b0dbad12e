import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../fakes/discord/index.js';
import { startFakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram } from '../fakes/telegram/index.js';
import { freePort } from '../helpers/redis-server.js';
import { testRedis } from '../helpers/redis.js';
import { spawnMain, type MainProcess } from '../helpers/main-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { FAST_ENV } from './console-harness.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const TSX = new URL(import.meta.resolve('tsx')).pathname;
// Well formed, and not the token the fake Bot API accepts.
const REFUSED_TELEGRAM = '7000000001:AArefusedRefusedRefusedRefused123456';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function baseEnv(): Promise<Record<string, string>> {
  const nemo = await startFakeNemo();
  cleanups.push(() => nemo.close());
  const redis = testRedis();
  return { ...FAST_ENV, LOG_LEVEL: 'info', NEMO_API_URL: nemo.url, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix.replace(/:$/, '') };
}

/** `npm start -- <args>` until it exits (killed after a minute). */
async function runToExit(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = await mkdtemp(join(tmpdir(), 'nvb-token-'));
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((done) => child.on('exit', (exitCode) => done(exitCode)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

describe('a platform token the platform refuses', () => {
  it('when Telegram refuses TELEGRAM_BOT_TOKEN and no other platform is set, then the start ends with one line naming it', async () => {
    const telegram = await startFakeTelegram();
    cleanups.push(() => telegram.close());
    const { code, stdout, stderr } = await runToExit(['bot'], {
      ...(await baseEnv()),
      HTTP_PORT: '0',
      TELEGRAM_BOT_TOKEN: REFUSED_TELEGRAM,
      TELEGRAM_API_ROOT: telegram.url,
    });

    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Telegram refused TELEGRAM_BOT_TOKEN \(getMe: 401 Unauthorized\): copy the token again from @BotFather\.$/);
    expect(stdout + stderr).not.toContain('AArefused');
  }, 90_000);

  it('when Discord refuses DISCORD_TOKEN and no other platform is set, then the start ends with one line naming it', async () => {
    const discord = await startFakeDiscord({ gatewayRejectsToken: true });
    cleanups.push(() => discord.close());
    const result = await runToExit(['bot'], {
      ...(await baseEnv()),
      HTTP_PORT: '0',
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^Discord refused DISCORD_TOKEN [^\n]+$/);
    expect(result.stdout + result.stderr).not.toContain(discord.token);
  }, 90_000);

  it('when Telegram refuses its token while Discord runs, then it is said once, the process keeps running and is ready', async () => {
    const telegram = await startFakeTelegram();
    cleanups.push(() => telegram.close());
    const discord = await startFakeDiscord();
    cleanups.push(() => discord.close());
    const cwd = await mkdtemp(join(tmpdir(), 'nvb-token-'));
    const main: MainProcess = spawnMain({
      name: 'bot',
      mode: 'bot',
      port: await freePort(),
      cwd,
      env: {
        ...(await baseEnv()),
        TELEGRAM_BOT_TOKEN: REFUSED_TELEGRAM,
        TELEGRAM_API_ROOT: telegram.url,
        DISCORD_TOKEN: discord.token,
        DISCORD_API_URL: discord.apiUrl,
        DISCORD_GUILD_ID: discord.guildId,
      },
    });
    cleanups.push(() => main.kill());

    await waitFor(() => /Telegram stays off; the other platforms keep running/.test(main.output()), { timeoutMs: 60_000, message: 'the line' });
    // Discord alone decides readiness now: the refused platform is off, not "not ready yet".
    await main.ready(60_000);
    expect(main.alive()).toBe(true);
    expect(main.output().match(/Telegram refused TELEGRAM_BOT_TOKEN/g)).toHaveLength(1);
    expect(main.output()).not.toMatch(/telegram did not start/);
    expect(main.output()).not.toContain('AArefused');
  }, 120_000);
});
