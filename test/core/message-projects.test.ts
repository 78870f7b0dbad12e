import { describe, expect, it } from 'vitest';
import { MESSAGE_MAP_CAP, MessageProjects } from '../../src/core/message-projects.js';
import { projectRef } from '../../src/core/project-ref.js';
import { testRedisClients } from '../helpers/redis.js';

const TTL = 1000;
const REF_A = projectRef('sess-a');
const REF_B = projectRef('sess-b');

describe('the message → project map (one capped hash per chat)', () => {
  const connect = testRedisClients();

  function setup() {
    const { redis, keys } = connect();
    return { redis, keys, messages: new MessageProjects(redis, keys, TTL) };
  }

  it('when a posted message is mapped, then its project and owner are found by chat and id, with the TTL, holding no text', async () => {
    const { redis, keys, messages } = setup();
    const group = { platform: 'telegram' as const, chatId: '-100123' };
    await messages.remember(group, '999', { userId: '456', projectRef: REF_A });
    expect(await messages.lookup(group, '999')).toEqual({ userId: '456', projectRef: REF_A });
    expect(await messages.lookup({ ...group, chatId: '-100124' }, '999')).toBeUndefined();
    expect(await messages.lookup({ platform: 'discord', chatId: '-100123' }, '999')).toBeUndefined();
    expect(await messages.lookup(group, '998')).toBeUndefined();
    expect(await messages.lookup(group, '')).toBeUndefined();
    // The map's first owner is its usual one: their entries are the ref alone, anyone else's carry their id.
    await messages.remember(group, '1000', { userId: '789', projectRef: REF_B });
    expect(await messages.lookup(group, '1000')).toEqual({ userId: '789', projectRef: REF_B });
    const map = keys.messageMap('telegram', '-100123');
    expect(await redis.hgetall(map)).toEqual({ '': '456', '999': REF_A, '1000': `${REF_B}789` });
    expect(await redis.ttl(map)).toBeGreaterThan(TTL - 10);
  });

  it('when more messages than the cap are mapped, then the oldest are dropped, a trimmed id reads as unknown, and the newest stay', async () => {
    const { redis, keys, messages } = setup();
    const where = { platform: 'telegram' as const, chatId: '-1001' };
    const extra = 10;
    // Telegram's ids, sent out of order (a worker's video can be mapped after a later answer).
    const ids = Array.from({ length: MESSAGE_MAP_CAP + extra }, (_, i) => String(95 + i));
    const shuffled = [...ids].sort((a, b) => ((Number(a) * 7919) % 97) - ((Number(b) * 7919) % 97));
    for (const id of shuffled) await messages.remember(where, id, { userId: 'u1', projectRef: REF_A });
    const map = keys.messageMap('telegram', '-1001');
    // The cap's messages and the usual owner.
    expect(await redis.hlen(map)).toBe(MESSAGE_MAP_CAP + 1);
    const kept = (await redis.hkeys(map)).filter((id) => id !== '').map(Number).sort((a, b) => a - b);
    expect(kept).toEqual(ids.slice(extra).map(Number));
    // 95..104 went (99 < 100 numerically, though not as text).
    expect(await messages.lookup(where, '95')).toBeUndefined();
    expect(await messages.lookup(where, '104')).toBeUndefined();
    expect(await messages.lookup(where, '105')).toEqual({ userId: 'u1', projectRef: REF_A });
    expect(await redis.object('ENCODING', map)).toBe('listpack');

    // Older than every entry of a full map: not kept, and nothing newer is dropped for it.
    await messages.remember(where, '3', { userId: 'u1', projectRef: REF_B });
    expect(await messages.lookup(where, '3')).toBeUndefined();
    expect(await redis.hlen(map)).toBe(MESSAGE_MAP_CAP + 1);
    expect(await messages.lookup(where, '105')).toBeDefined();
    // One already there is written again (a resend, an edited progress line): nothing is dropped.
    await messages.remember(where, '105', { userId: 'u2', projectRef: REF_B });
    expect(await messages.lookup(where, '105')).toEqual({ userId: 'u2', projectRef: REF_B });
    expect(await messages.lookup(where, '106')).toBeDefined();
    expect(await redis.hlen(map)).toBe(MESSAGE_MAP_CAP + 1);
  });

  it('when the map is written, then its TTL (the session TTL) starts again', async () => {
    const { redis, keys, messages } = setup();
    const where = { platform: 'discord' as const, chatId: 'chan:1' };
    const map = keys.messageMap('discord', 'chan:1');
    await messages.remember(where, '1', { userId: 'u1', projectRef: REF_A });
    await redis.expire(map, 5);
    await messages.remember(where, '2', { userId: 'u1', projectRef: REF_A });
    expect(await redis.ttl(map)).toBeGreaterThan(TTL - 10);
    expect(await messages.lookup(where, '1')).toEqual({ userId: 'u1', projectRef: REF_A });
  });

  it('when Discord snowflakes past 2^53 fill the map, then they are ordered as integers (length, then digits), never as rounded numbers', async () => {
    const { redis, keys, messages } = setup();
    const where = { platform: 'discord' as const, chatId: '1300000000000000000' };
    const first = '1234567890123456789';
    // A guild channel: many people, every entry but the first's carries a 19-digit user id.
    const userOf = (i: number) => (i === 0 ? first : String(1_100_000_000_000_000_000n + BigInt(i % 7)));
    const base = 1_300_000_000_000_000_001n;
    // All of these are the same double: only exact comparison finds the oldest.
    const snowflakes = Array.from({ length: MESSAGE_MAP_CAP }, (_, i) => String(base + BigInt(MESSAGE_MAP_CAP - i)));
    expect(new Set(snowflakes.map(Number)).size).toBeLessThan(4);
    for (const [i, id] of snowflakes.entries()) await messages.remember(where, id, { userId: userOf(i), projectRef: REF_A });
    // An 18-digit snowflake is older than any 19-digit one, though "9…" sorts after "1…" as text.
    await messages.remember(where, '999999999999999999', { userId: first, projectRef: REF_B });
    expect(await messages.lookup(where, '999999999999999999')).toBeUndefined();
    // A newer one drops exactly the oldest, base + 1.
    await messages.remember(where, String(base + 1000n), { userId: first, projectRef: REF_B });
    expect(await messages.lookup(where, String(base + 1n))).toBeUndefined();
    expect(await messages.lookup(where, String(base + 2n))).toEqual({ userId: userOf(MESSAGE_MAP_CAP - 2), projectRef: REF_A });
    expect(await messages.lookup(where, String(base + BigInt(MESSAGE_MAP_CAP)))).toEqual({ userId: first, projectRef: REF_A });
    expect(await messages.lookup(where, String(base + 1000n))).toEqual({ userId: first, projectRef: REF_B });
    const map = keys.messageMap('discord', '1300000000000000000');
    expect(await redis.hlen(map)).toBe(MESSAGE_MAP_CAP + 1);
    // 19-digit ids and owners stay under listpack's thresholds: the compact encoding.
    expect(await redis.object('ENCODING', map)).toBe('listpack');
  });

  it("when the terminal's ids (`<pid>.<n>`) fill the map, then a process's later messages are the newer ones", async () => {
    const { messages } = setup();
    const where = { platform: 'console' as const, chatId: 'local' };
    for (let n = 1; n <= MESSAGE_MAP_CAP + 1; n++) await messages.remember(where, `4242.${n}`, { userId: 'local', projectRef: REF_A });
    expect(await messages.lookup(where, '4242.1')).toBeUndefined();
    expect(await messages.lookup(where, '4242.9')).toEqual({ userId: 'local', projectRef: REF_A });
    expect(await messages.lookup(where, `4242.${MESSAGE_MAP_CAP + 1}`)).toEqual({ userId: 'local', projectRef: REF_A });
  });

  it('when a stored entry is malformed, then it reads as unknown and the others still read', async () => {
    const { redis, keys, messages } = setup();
    const where = { platform: 'telegram' as const, chatId: '-5' };
    await messages.remember(where, '10', { userId: 'u1', projectRef: REF_A });
    const map = keys.messageMap('telegram', '-5');
    await redis.hset(map, '11', 'short', '12', '../../x/u1', '13', '', '14', '{"u":"u1","p":"abcdefgh"}');
    for (const id of ['11', '12', '13', '14']) expect(await messages.lookup(where, id)).toBeUndefined();
    expect(await messages.lookup(where, '10')).toEqual({ userId: 'u1', projectRef: REF_A });
    // Without a usual owner, an entry that leaves its owner out names nobody.
    await redis.hset(map, '', '');
    expect(await messages.lookup(where, '10')).toBeUndefined();
    await redis.hdel(map, '');
    expect(await messages.lookup(where, '10')).toBeUndefined();
    // What is not a project ref is never written.
    await expect(messages.remember(where, '15', { userId: 'u1', projectRef: 'a:b' })).rejects.toThrow();
    expect(await redis.hexists(map, '15')).toBe(0);
  });

  it('when a message was mapped before the map existed (its own key), then it is still found until that key expires', async () => {
    const { redis, keys, messages } = setup();
    const where = { platform: 'telegram' as const, chatId: '-7' };
    await redis.set(keys.messageProject('telegram', '-7', '31'), JSON.stringify({ u: 'u9', p: REF_B }), 'EX', TTL);
    expect(await messages.lookup(where, '31')).toEqual({ userId: 'u9', projectRef: REF_B });
    await redis.set(keys.messageProject('telegram', '-7', '32'), '{"u":"u9","p":"../../x"}', 'EX', TTL);
    expect(await messages.lookup(where, '32')).toBeUndefined();
  });
});
