import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ExportSlot } from '../../src/core/export-slot.js';
import { FloodControl } from '../../src/core/flood-control.js';
import type { SessionKey } from '../../src/core/session-store.js';
import { TurnGate, type PendingTurn } from '../../src/core/turn-gate.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const key: SessionKey = { platform: 'telegram', chatId: '-100', userId: '7' };

function turn(text: string): PendingTurn {
  return { text, language: 'en', address: { platform: 'telegram', chatId: '-100', userId: '7' }, receivedAt: 1_700_000_000_000 };
}

const clients: Redis[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.quit();
});

function setup(): { redis: Redis; prefix: string; url: string } {
  const { url, prefix } = testRedis();
  const redis = new Redis(url);
  clients.push(redis);
  return { redis, prefix, url };
}

describe('FloodControl', () => {
  it('when a person goes over the limit, then the first message over it trips, later ones are silent, and the next window starts afresh', async () => {
    const { redis, prefix } = setup();
    const clock = { now: 1_800_000_000_000 };
    const flood = new FloodControl(redis, createRedisKeys(prefix), { messagesPerWindow: 3, now: () => clock.now });
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push(await flood.take('telegram', '7'));
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'tripped', 'silent', 'silent']);
    // Another person, and the same id on another platform, count apart.
    expect(await flood.take('telegram', '8')).toBe('ok');
    expect(await flood.take('discord', '7')).toBe('ok');

    const counter = flood.rateCheck('telegram', '7').key;
    const ttl = await redis.pttl(counter);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(65_000);

    clock.now += 60_000;
    expect(await flood.take('telegram', '7')).toBe('ok');
  });

  it('when many processes count one person at once, then exactly the limit passes and exactly one message trips', async () => {
    const { prefix, url } = setup();
    const others = Array.from({ length: 4 }, () => {
      const client = new Redis(url);
      clients.push(client);
      return new FloodControl(client, createRedisKeys(prefix), { messagesPerWindow: 10, now: () => 1_800_000_000_000 });
    });
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => others[i % others.length]!.take('telegram', '7')));
    expect(verdicts.filter((v) => v === 'ok')).toHaveLength(10);
    expect(verdicts.filter((v) => v === 'tripped')).toHaveLength(1);
    expect(verdicts.filter((v) => v === 'silent')).toHaveLength(29);
  });
});

describe('TurnGate with flood control', () => {
  it('when more turns arrive than may wait, then the first refusal notifies, later ones are silent, and the mark goes once the queue drains', async () => {
    const { redis, prefix } = setup();
    const gate = new TurnGate(redis, createRedisKeys(prefix), { lockTtlMs: 10_000, maxQueued: 2 });
    const holder = await gate.enter(key, turn('running'));
    if (!holder.acquired) throw new Error('expected the lock');
    expect(await gate.enter(key, turn('w1'))).toEqual({ acquired: false, position: 1 });
    expect(await gate.enter(key, turn('w2'))).toEqual({ acquired: false, position: 2 });
    expect(await gate.enter(key, turn('w3'))).toEqual({ acquired: false, refused: { reason: 'queue_full', notify: true } });
    expect(await gate.enter(key, turn('w4'))).toEqual({ acquired: false, refused: { reason: 'queue_full', notify: false } });
    expect(await gate.pendingCount(key)).toBe(2);
    const mark = createRedisKeys(prefix).turnFull(key);
    expect(await redis.pttl(mark)).toBeGreaterThan(0);

    // One taken: room again, yet still silent refusals once full, until the queue drains.
    const first = await gate.next(key, holder.lockToken);
    expect(first?.text).toBe('w1');
    const second = await gate.next(key, holder.lockToken, first?.entry);
    expect(second?.text).toBe('w2');
    expect(await gate.enter(key, turn('w5'))).toEqual({ acquired: false, position: 2 });
    expect(await gate.enter(key, turn('w6'))).toEqual({ acquired: false, refused: { reason: 'queue_full', notify: false } });
    let next = await gate.next(key, holder.lockToken, second?.entry);
    const drained: string[] = [];
    while (next) {
      drained.push(next.text);
      next = await gate.next(key, holder.lockToken, next.entry);
    }
    expect(drained).toEqual(['w5']);
    expect(await redis.exists(mark)).toBe(0);

    // A new flood gets a new notice.
    const again = await gate.enter(key, turn('again'));
    if (!again.acquired) throw new Error('expected the lock');
    await gate.enter(key, turn('a1'));
    await gate.enter(key, turn('a2'));
    expect(await gate.enter(key, turn('a3'))).toEqual({ acquired: false, refused: { reason: 'queue_full', notify: true } });
    // /new clears the mark with the queue.
    await gate.clear(key, again.lockToken);
    expect(await redis.exists(mark)).toBe(0);
  });

  it('when ENTER carries the rate check, then a message over the rate is refused before it takes the lock or a place', async () => {
    const { redis, prefix } = setup();
    const gate = new TurnGate(redis, createRedisKeys(prefix), { lockTtlMs: 10_000, maxQueued: 5 });
    const flood = new FloodControl(redis, createRedisKeys(prefix), { messagesPerWindow: 2, now: () => 1_800_000_000_000 });
    const rate = flood.rateCheck('telegram', '7');
    const holder = await gate.enter(key, turn('one'), { rate });
    expect(holder.acquired).toBe(true);
    expect(await gate.enter(key, turn('two'), { rate })).toEqual({ acquired: false, position: 1 });
    expect(await gate.enter(key, turn('three'), { rate })).toEqual({ acquired: false, refused: { reason: 'rate_limited', notify: true } });
    expect(await gate.enter(key, turn('four'), { rate })).toEqual({ acquired: false, refused: { reason: 'rate_limited', notify: false } });
    expect(await gate.pendingCount(key)).toBe(1);
    // The same counter as a separate check: one count for all the person's messages.
    expect(await flood.take('telegram', '7')).toBe('silent');
  });
});

describe('ExportSlot', () => {
  it('when several exports of one project claim at once, then one holds the slot; the same render may claim again; only its holder frees it', async () => {
    const { redis, prefix } = setup();
    const slot = new ExportSlot(redis, createRedisKeys(prefix));
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => slot.claim('sess-1', `render_${i}`, 1000)));
    const winners = claims.flatMap((claim, i) => (claim.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    const winner = `render_${winners[0]}`;
    for (const claim of claims) if (!claim.ok) expect(claim.holder).toMatchObject({ renderId: winner, claimedAt: 1000 });
    // A message handled again after a crash names the same render: it holds the slot still.
    expect(await slot.claim('sess-1', winner)).toEqual({ ok: true });
    // Another project is free.
    expect(await slot.claim('sess-2', 'render_other')).toEqual({ ok: true });

    await slot.release('sess-1', 'render_not_the_holder');
    expect((await slot.claim('sess-1', 'render_late')).ok).toBe(false);
    await slot.release('sess-1', winner);
    expect(await slot.claim('sess-1', 'render_late')).toEqual({ ok: true });
    const [slotKey] = await redis.keys(createRedisKeys(prefix).exportSlot('sess-1'));
    expect(await redis.pttl(slotKey ?? '')).toBeGreaterThan(0);
  });

  it('when several exports find the same stale holder, then one takes the slot over', async () => {
    const { redis, prefix } = setup();
    const slot = new ExportSlot(redis, createRedisKeys(prefix));
    await slot.claim('sess-1', 'render_old', 1000);
    const found = await slot.claim('sess-1', 'render_x', 2000);
    if (found.ok) throw new Error('expected the old holder');
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => slot.takeOver('sess-1', found.holder, `render_new${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('when the slot holds something unreadable, then it names no render and can be taken over', async () => {
    const { redis, prefix } = setup();
    const slot = new ExportSlot(redis, createRedisKeys(prefix));
    await redis.set(createRedisKeys(prefix).exportSlot('sess-1'), '{not json', 'PX', 60_000);
    const found = await slot.claim('sess-1', 'render_a');
    if (found.ok) throw new Error('expected a holder');
    expect(found.holder).toMatchObject({ renderId: '', claimedAt: 0 });
    expect(await slot.takeOver('sess-1', found.holder, 'render_a')).toBe(true);
    expect(await slot.claim('sess-1', 'render_a')).toEqual({ ok: true });
  });
});
