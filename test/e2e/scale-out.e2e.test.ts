import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { spawnMain, type MainProcess } from '../helpers/main-process.js';
import { freePort } from '../helpers/redis-server.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRET = 'scale-out-secret';
const USERS = 5;

const processes: MainProcess[] = [];
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let proxy: Server | undefined;
let dir: string | undefined;

afterEach(async () => {
  for (const proc of processes.splice(0)) await proc.kill();
  proxy?.close();
  await nemo?.close();
  await tg?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  nemo = tg = proxy = dir = undefined;
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

function start(name: string, mode: 'bot' | 'worker', port: number, env: Record<string, string>): MainProcess {
  const proc = spawnMain({ name, mode, port, cwd: dir ?? '.', env });
  processes.push(proc);
  return proc;
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
    const roles = [['bot-a', 'bot'], ['bot-b', 'bot'], ['worker-a', 'worker'], ['worker-b', 'worker']] as const;
    await Promise.all(roles.map(([name, mode], i) => start(name, mode, ports[i] as number, env).ready(30_000)));

    const people = Array.from({ length: USERS }, (_, i) => {
      const user = tg!.user({ firstName: `User${i}`, languageCode: 'en' });
      return { user, chat: tg!.privateChat(user) };
    });
    for (const [i, { user, chat }] of people.entries()) tg.say(chat, user, { text: `Generate a video of harbour number ${i}` });
    const answered = (chatId: string, pattern: RegExp) => tg!.sent.filter((m) => String(m.chatId) === chatId && pattern.test(m.text ?? '')).length;
    await waitFor(() => people.every(({ chat }) => answered(String(chat.id), /Keep them, or say/) === 1), { timeoutMs: 60_000, message: 'every generation answered' });
    for (const { user, chat } of people) tg.say(chat, user, { text: '/export' });
    await waitFor(() => tg!.sent.filter((m) => m.kind === 'video').length === USERS, { timeoutMs: 60_000, message: 'every video delivered' });

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
    const output = processes.map((proc) => proc.output()).join('\n');
    for (const token of [tg.token, SECRET, ...nemo.issuedTokens]) expect(output).not.toContain(token);
  }, 150_000);
});
