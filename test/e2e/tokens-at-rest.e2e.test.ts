import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { spawnMain, type MainProcess } from '../helpers/main-process.js';
import { freePort, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const PERSONAL = 'nmv_usr_personal_at_rest_0000000000042';
const KEY = Buffer.alloc(32, 7).toString('base64');
const PREFIX = 'atrest';
const CLEAR_WARNING = /tokens are stored in clear/;

let main: MainProcess | undefined;
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let redis: RedisServerHandle | undefined;
let client: Redis | undefined;
let dir: string | undefined;

afterEach(async () => {
  await main?.kill();
  await nemo?.close();
  await tg?.close();
  client?.disconnect();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  main = nemo = tg = redis = client = dir = undefined;
});

async function startBot(env: Record<string, string>): Promise<{ main: MainProcess; tg: FakeTelegram; nemo: FakeNemo; client: Redis; redis: RedisServerHandle }> {
  nemo = await startFakeNemo({ operatorTokens: [PERSONAL] });
  tg = await startFakeTelegram();
  // Every write reaches the append-only file at once: what a disk holds is what is searched.
  redis = await startRedis({ appendOnly: true });
  client = new Redis(redis.url);
  dir = await mkdtemp(join(tmpdir(), 'nvb-at-rest-'));
  main = spawnMain({
    name: 'all',
    mode: 'all',
    port: await freePort(),
    cwd: dir,
    env: {
      NEMO_API_URL: nemo.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: PREFIX,
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.url,
      SHUTDOWN_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'debug',
      ...env,
    },
  });
  await main.ready(30_000);
  return { main, tg, nemo, client, redis };
}

/** Every value of every key, whatever its type. */
async function everyValue(redis: Redis): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

/** Every append-only file Redis wrote (Redis 7 keeps them in a folder). */
async function appendOnlyText(dataDir: string): Promise<string> {
  const files = (await readdir(dataDir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile() && /\.aof/.test(entry.name));
  expect(files.length).toBeGreaterThan(0);
  const texts = await Promise.all(files.map((entry) => readFile(join(entry.parentPath, entry.name), 'latin1')));
  return texts.join('\n');
}

describe('tokens at rest', () => {
  it('when a person talks anonymously and then logs in, then no token is in Redis or its append-only file in clear, and the identity expires unless used', async () => {
    const rig = await startBot({ TOKEN_ENCRYPTION_KEY: KEY, SESSION_TTL_DAYS: '2' });
    const alice = rig.tg.user({ languageCode: 'en' });
    const chat = rig.tg.privateChat(alice);

    rig.tg.say(chat, alice, { text: 'Generate a video of a quiet beach' });
    await waitFor(() => rig.tg.sent.some((m) => /Keep them, or say/.test(m.text ?? '')), { timeoutMs: 30_000, message: 'the anonymous answer' });
    expect(rig.nemo.issuedTokens).toHaveLength(1);
    const identityKey = createRedisKeys(PREFIX).identity('telegram', String(alice.id));
    const ttl = await rig.client.ttl(identityKey);
    expect(ttl).toBeGreaterThan(86_400);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400);

    // Use renews it: shorten it by hand, talk again, and it is back to the full TTL.
    await rig.client.expire(identityKey, 60);
    rig.tg.say(chat, alice, { text: 'credits' });
    await waitFor(async () => (await rig.client.ttl(identityKey)) > 86_400, { timeoutMs: 30_000, message: 'the identity renewed on use' });

    rig.tg.say(chat, alice, { text: `/login ${PERSONAL}` });
    await waitFor(() => rig.tg.sent.some((m) => /logged in/.test(m.text ?? '')), { timeoutMs: 30_000, message: 'the login answer' });
    expect(await rig.client.get(identityKey)).toMatch(/personalToken/);

    const secrets = [PERSONAL, ...rig.nemo.issuedTokens];
    const values = await everyValue(rig.client);
    const onDisk = await appendOnlyText(rig.redis.dir);
    // The searches can fail: the /login text and the identity did reach Redis, only sealed.
    expect(onDisk).toContain(identityKey);
    expect(onDisk).toContain(createRedisKeys(PREFIX).inbox());
    for (const secret of secrets) {
      expect(values).not.toContain(secret);
      expect(onDisk).not.toContain(secret);
      expect(rig.main.output()).not.toContain(secret);
    }
    expect(rig.main.output()).not.toMatch(CLEAR_WARNING);
  }, 120_000);

  it('when no key is set outside the terminal, then the start says once that tokens are stored in clear', async () => {
    const rig = await startBot({});
    const alice = rig.tg.user({ languageCode: 'en' });
    rig.tg.say(rig.tg.privateChat(alice), alice, { text: `/login ${PERSONAL}` });
    await waitFor(() => rig.tg.sent.some((m) => /TOKEN_ENCRYPTION_KEY/.test(m.text ?? '')), { timeoutMs: 30_000, message: 'the login refusal' });
    expect(rig.main.output().match(new RegExp(CLEAR_WARNING.source, 'g'))).toHaveLength(1);
    expect(rig.main.output()).toMatch(/"level":40/);
    // Without a key /login is off, and its argument never reached Redis either.
    expect(await everyValue(rig.client)).not.toContain(PERSONAL);
    expect(await appendOnlyText(rig.redis.dir)).not.toContain(PERSONAL);
  }, 90_000);
});
