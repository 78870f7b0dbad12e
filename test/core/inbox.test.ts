import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Inbox } from '../../src/core/inbox.js';
import { TokenCipher } from '../../src/core/token-cipher.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

describe('Inbox', () => {
  const clients: Redis[] = [];
  const inboxes: Inbox[] = [];
  afterEach(async () => {
    for (const inbox of inboxes.splice(0)) inbox.stop();
    for (const client of clients.splice(0)) await client.quit();
  });

  function open(url: string, prefix: string, cipher?: TokenCipher): Inbox {
    const redis = new Redis(url);
    clients.push(redis);
    const inbox = new Inbox(redis, createRedisKeys(prefix), cipher);
    inboxes.push(inbox);
    return inbox;
  }

  it('when the owner is alive, then nobody else takes its messages; once its heartbeat is gone, exactly one sweeper does', async () => {
    const { url, prefix } = testRedis();
    const owner = open(url, prefix);
    await owner.start();
    expect(await owner.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: { text: 'hello' } })).toBe(true);
    expect(await owner.admit(createRedisKeys(prefix).telegramUpdate(1, 9), 60, { id: 'discord:9', payload: { text: 'other platform' } })).toBe(true);

    const a = open(url, prefix);
    const b = open(url, prefix);
    await a.start();
    await b.start();
    expect(await a.claimOrphans('telegram:')).toEqual([]);
    expect(await owner.claimOrphans('telegram:')).toEqual([]);

    // The owner dies: its heartbeat key lapses.
    owner.stop();
    const raw = clients[0]!;
    await raw.del(createRedisKeys(prefix).alive(owner.ownerId));
    const [first, second] = await Promise.all([a.claimOrphans('telegram:'), b.claimOrphans('telegram:')]);
    expect([...first, ...second]).toEqual([{ id: 'telegram:1', payload: { text: 'hello' } }]);
    // A claimed entry belongs to its claimer now; other platforms' entries are left alone.
    const claimer = first.length > 0 ? a : b;
    expect(JSON.parse((await raw.hget(createRedisKeys(prefix).inbox(), 'telegram:1')) ?? '{}')).toMatchObject({ owner: claimer.ownerId });
    expect(JSON.parse((await raw.hget(createRedisKeys(prefix).inbox(), 'discord:9')) ?? '{}')).toMatchObject({ owner: owner.ownerId });
    // Its claimer handles it: nobody else takes it again.
    expect(await (claimer === a ? b : a).claimOrphans('telegram:')).toEqual([]);
  });

  const TOKEN = 'nmv_usr_personal_secret_42';
  const login = { address: { platform: 'telegram', chatId: '1', userId: '1' }, text: `/login@nemo_bot ${TOKEN}` };

  it('when a key is set, then an entry is sealed whole in Redis and a takeover reads it back intact', async () => {
    const { url, prefix } = testRedis();
    const cipher = new TokenCipher(randomBytes(32));
    const owner = open(url, prefix, cipher);
    await owner.start();
    expect(await owner.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: [login] })).toBe(true);
    const raw = clients[0]!;
    const stored = (await raw.hget(createRedisKeys(prefix).inbox(), 'telegram:1')) ?? '';
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain('/login');

    owner.stop();
    await raw.del(createRedisKeys(prefix).alive(owner.ownerId));
    const taker = open(url, prefix, cipher);
    await taker.start();
    expect(await taker.claimOrphans('telegram:')).toEqual([{ id: 'telegram:1', payload: [login] }]);
    expect(await raw.hget(createRedisKeys(prefix).inbox(), 'telegram:1')).not.toContain(TOKEN);
  });

  it('when no key is set, then the argument of /login never reaches Redis and other text is kept', async () => {
    const { url, prefix } = testRedis();
    const owner = open(url, prefix);
    await owner.start();
    await owner.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: [login, { text: 'make a video' }] });
    const raw = clients[0]!;
    const stored = (await raw.hget(createRedisKeys(prefix).inbox(), 'telegram:1')) ?? '';
    expect(stored).not.toContain(TOKEN);
    expect(JSON.parse(stored)).toMatchObject({ payload: [{ text: '/login', address: login.address }, { text: 'make a video' }] });
  });

  it('when an entry was sealed with another key, then a live owner keeps it and a dead one loses it', async () => {
    const { url, prefix } = testRedis();
    const owner = open(url, prefix, new TokenCipher(randomBytes(32)));
    await owner.start();
    await owner.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: login });
    const other = open(url, prefix, new TokenCipher(randomBytes(32)));
    await other.start();
    const raw = clients[0]!;
    expect(await other.claimOrphans('telegram:')).toEqual([]);
    expect(await raw.hexists(createRedisKeys(prefix).inbox(), 'telegram:1')).toBe(1);

    owner.stop();
    await raw.del(createRedisKeys(prefix).alive(owner.ownerId));
    expect(await other.claimOrphans('telegram:')).toEqual([]);
    expect(await raw.hexists(createRedisKeys(prefix).inbox(), 'telegram:1')).toBe(0);
  });
});
