import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { freePort } from '../helpers/redis-server.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');
const SECRET = 'scale-out-secret';
const USERS = 5;

const children: ChildProcess[] = [];
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let proxy: Server | undefined;
let dir: string | undefined;
let output = '';

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  proxy?.close();
  await nemo?.close();
  await tg?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  nemo = tg = proxy = dir = undefined;
  output = '';
});

/** A load balancer: each webhook delivery goes to the next bot replica in turn. */
async function roundRobin(targets: string[], hits: number[]): Promise<number> {
  let next = 0;
  proxy = createServer((req, res) => {
    const index = next++ % targets.length;
    hits[index] = (hits[index] ?? 0) + 1;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': String(req.headers['x-telegram-bot-api-secret-token'] ?? '') };
      request(`${targets[index]}${req.url ?? '/'}`, { method: 'POST', headers, body: Buffer.concat(chunks) }).then(
        async (answer) => {
          res.writeHead(answer.statusCode).end(await answer.body.text());
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return (proxy.address() as { port: number }).port;
}

function start(mode: 'bot' | 'worker', env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, mode], { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  children.push(child);
  return child;
}

async function ready(port: number): Promise<void> {
  await waitFor(
    async () => (await request(`http://127.0.0.1:${port}/readyz`).then((r) => (r.body.dump(), r.statusCode)).catch(() => 0)) === 200,
    { timeoutMs: 30_000, message: `the process on ${port} to be ready` },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; the processes wrote:\n${output}`);
  });
}

describe('two bot replicas and two workers sharing one Redis', () => {
  it('when several people chat and export through a load balancer, then each message is answered once and each video delivered once', async () => {
    nemo = await startFakeNemo();
    tg = await startFakeTelegram();
    dir = await mkdtemp(join(tmpdir(), 'nvb-scale-'));
    const redis = testRedis();
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const hits: number[] = [];
    const proxyPort = await roundRobin([`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[1]}`], hits);
    const env = {
      NEMO_API_URL: nemo.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix.replace(/:$/, ''),
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.url,
      // With a query string: the mount goes by path, telegraf checks the whole URL.
      TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${proxyPort}/telegram?via=balancer`,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      RENDER_POLL_INTERVAL_MS: '20',
      SHUTDOWN_TIMEOUT_MS: '1000',
    };
    start('bot', { ...env, HTTP_PORT: String(ports[0]) });
    start('bot', { ...env, HTTP_PORT: String(ports[1]) });
    start('worker', { ...env, HTTP_PORT: String(ports[2]) });
    start('worker', { ...env, HTTP_PORT: String(ports[3]) });
    await Promise.all(ports.map((port) => ready(port)));

    const people = Array.from({ length: USERS }, (_, i) => {
      const user = tg!.user({ firstName: `User${i}`, languageCode: 'en' });
      return { user, chat: tg!.privateChat(user) };
    });
    for (const [i, { user, chat }] of people.entries()) tg.say(chat, user, { text: `Generate a video of harbour number ${i}` });
    const answered = (chatId: string, pattern: RegExp) => tg!.sent.filter((m) => String(m.chatId) === chatId && pattern.test(m.text ?? '')).length;
    await waitFor(() => people.every(({ chat }) => answered(String(chat.id), /Keep them, or say/) === 1), { timeoutMs: 30_000, message: 'every generation answered' });
    for (const { user, chat } of people) tg.say(chat, user, { text: '/export' });
    await waitFor(() => tg!.sent.filter((m) => m.kind === 'video').length === USERS, { timeoutMs: 30_000, message: 'every video delivered' });

    // Give a duplicate the time to show up, then count: one answer, one video per person.
    await waitFor(async () => {
      const depth = await request(`http://127.0.0.1:${ports[2]}/metrics`).then((r) => r.body.text());
      return /nvb_render_queue_depth\{role="worker"\} 0/.test(depth);
    });
    for (const { chat } of people) {
      expect(answered(String(chat.id), /Keep them, or say/)).toBe(1);
      expect(tg.sent.filter((m) => String(m.chatId) === String(chat.id) && m.kind === 'video')).toHaveLength(1);
    }
    expect(nemo.sseCalls).toHaveLength(USERS);
    expect(nemo.renders.size).toBe(USERS);
    // Both replicas took updates through the balancer.
    expect(hits.every((n) => n > 0)).toBe(true);
    expect(nemo.violations).toEqual([]);
    expect(tg.violations).toEqual([]);
    for (const token of [tg.token, SECRET, ...nemo.issuedTokens]) expect(output).not.toContain(token);
  }, 90_000);
});
