import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionKey } from '../../src/core/session-store.js';
import { TurnGate, type PendingTurn, type WaitingTurn } from '../../src/core/turn-gate.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const key: SessionKey = { platform: 'discord', chatId: 'guild:chan', userId: 'u1' };

function turn(text: string): PendingTurn {
  return {
    text,
    language: 'en',
    address: { platform: 'discord', chatId: 'guild:chan', userId: 'u1', extra: { interaction: 'x', expires: 5 } },
    receivedAt: 1_700_000_000_000,
  };
}

describe('TurnGate', () => {
  const clients: Redis[] = [];
  let prefix = '';
  let url = '';

  function client(): Redis {
    const redis = new Redis(url);
    clients.push(redis);
    return redis;
  }

  function gate(lockTtlMs = 10_000, redis: Redis = client()): TurnGate {
    return new TurnGate(redis, createRedisKeys(prefix), { lockTtlMs });
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.quit();
  });

  function fresh(): void {
    ({ url, prefix } = testRedis());
  }

  it('when many clients enter at once, then exactly one acquires and the others get positions 1..n in pop order', async () => {
    fresh();
    const gates = Array.from({ length: 12 }, () => gate());
    const results = await Promise.all(gates.map((g, i) => g.enter(key, turn(`m${i}`))));

    const acquired = results.filter((r) => r.acquired);
    expect(acquired).toHaveLength(1);
    const positions = results.flatMap((r, i) => ('position' in r ? [{ position: r.position, text: `m${i}` }] : []));
    expect(positions.map((p) => p.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));

    const holder = acquired[0];
    if (holder === undefined || !holder.acquired) throw new Error('no holder');
    const byPosition = positions.sort((a, b) => a.position - b.position).map((p) => p.text);
    const popped: string[] = [];
    let next = await gates[0]!.next(key, holder.lockToken);
    while (next) {
      popped.push(next.text);
      expect(next.address.extra).toEqual({ interaction: 'x', expires: 5 });
      next = await gates[0]!.next(key, holder.lockToken, next.entry);
    }
    expect(popped).toEqual(byPosition);

    // Released: the next message takes the lock at once.
    expect((await gates[1]!.enter(key, turn('after'))).acquired).toBe(true);
  });

  it('when a message enters while the holder drains, then it is either popped by the holder or takes the lock, never lost', async () => {
    fresh();
    const holderGate = gate();
    const senderGate = gate();
    for (let round = 0; round < 50; round++) {
      const first = await holderGate.enter(key, turn(`first${round}`));
      if (!first.acquired) throw new Error('lock should be free at round start');
      await senderGate.enter(key, turn(`queued${round}`));
      const handled: string[] = [];
      // Race the holder's last `next` calls against a late message.
      const [late] = await Promise.all([
        senderGate.enter(key, turn(`late${round}`)),
        (async () => {
          let next = await holderGate.next(key, first.lockToken);
          while (next) {
            handled.push(next.text);
            next = await holderGate.next(key, first.lockToken, next.entry);
          }
        })(),
      ]);
      if (late.acquired) {
        expect(handled).toEqual([`queued${round}`]);
        expect(await senderGate.next(key, late.lockToken)).toBeUndefined();
      } else {
        expect(handled).toEqual([`queued${round}`, `late${round}`]);
      }
      expect(await holderGate.pendingCount(key)).toBe(0);
    }
  });

  it('when the holder stops extending, then the lock expires and another message takes it', async () => {
    fresh();
    const g = gate(150);
    const first = await g.enter(key, turn('a'));
    expect(first.acquired).toBe(true);
    expect((await g.enter(key, turn('b'))).acquired).toBe(false);
    let second: Awaited<ReturnType<TurnGate['enter']>> | undefined;
    await g.clear(key);
    await waitFor(async () => {
      second = await g.enter(key, turn('c'));
      return second.acquired;
    }, { timeoutMs: 3000, intervalMs: 50, message: 'lock expiry' });
    if (first.acquired && second?.acquired) {
      expect(await g.extend(key, first.lockToken)).toBe(false);
      expect(await g.extend(key, second.lockToken)).toBe(true);
    } else {
      throw new Error('expected both to acquire');
    }
  });

  it('when extend is called with a wrong token, then it fails and the holder keeps the lock', async () => {
    fresh();
    const g = gate(500);
    const first = await g.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected lock');
    expect(await g.extend(key, 'not-the-token')).toBe(false);
    expect(await g.extend(key, first.lockToken)).toBe(true);
    expect(await g.next(key, 'not-the-token')).toBeUndefined();
    expect((await g.enter(key, turn('b'))).acquired).toBe(false);
  });

  it('when a lock expired and nobody took it, then next by the old holder still drains the pending turns', async () => {
    fresh();
    const redis = client();
    const g = gate(100, redis);
    const first = await g.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected lock');
    await g.enter(key, turn('b'));
    await waitFor(async () => (await redis.exists(createRedisKeys(prefix).turnLock(key))) === 0, {
      timeoutMs: 3000,
      message: 'lock expiry',
    });
    expect((await g.next(key, first.lockToken))?.text).toBe('b');
    expect((await g.enter(key, turn('c'))).acquired).toBe(false);
  });

  it('when clear is called, then pending turns are dropped and the lock only goes with its token', async () => {
    fresh();
    const g = gate();
    const first = await g.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected lock');
    await g.enter(key, turn('b'));
    await g.enter(key, turn('c'));

    await g.clear(key);
    expect(await g.pendingCount(key)).toBe(0);
    expect((await g.enter(key, turn('d'))).acquired).toBe(false);

    await g.clear(key, first.lockToken);
    expect(await g.pendingCount(key)).toBe(0);
    expect((await g.enter(key, turn('e'))).acquired).toBe(true);
  });

  it('when a pending entry is corrupt, then next skips it and returns the following valid turn', async () => {
    fresh();
    const redis = client();
    const g = gate(10_000, redis);
    const first = await g.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected lock');
    await redis.rpush(createRedisKeys(prefix).turnPending(key), '{broken', JSON.stringify({ text: 1 }));
    await g.enter(key, turn('good'));
    const good = await g.next(key, first.lockToken);
    expect(good?.text).toBe('good');
    expect(await g.next(key, first.lockToken, good?.entry)).toBeUndefined();
  });

  it('when a holder dies after taking a queued turn and before journaling it, then the turn waits for the next holder', async () => {
    fresh();
    const redis = client();
    const dying = gate(150, redis);
    const first = await dying.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected lock');
    await dying.enter(key, turn('b'));
    expect((await dying.next(key, first.lockToken))?.text).toBe('b');
    // The holder is gone: its lock lapses, and the sweep claims the turn still waiting, with the lock.
    const successor = gate(10_000, redis);
    let claimed: WaitingTurn[] = [];
    await waitFor(async () => (claimed = await successor.claimWaiting()).length > 0, { timeoutMs: 3000, intervalMs: 20, message: 'lock expiry' });
    expect(claimed.map((t) => t.text)).toEqual(['b']);
    const token = claimed[0]?.lockToken;
    const taken = await successor.next(key, token as string);
    expect(taken?.text).toBe('b');
    expect(await successor.next(key, token as string, taken?.entry)).toBeUndefined();
    expect(await successor.pendingCount(key)).toBe(0);
  });

  it('when tryLock meets a held lock, then it gets nothing and queues nothing; after release it gets the lock', async () => {
    fresh();
    const g = gate();
    const held = await g.enter(key, turn('running'));
    expect(held.acquired).toBe(true);
    expect(await g.tryLock(key)).toBeUndefined();
    expect(await g.pendingCount(key)).toBe(0);
    // Only the holder's token lets go.
    await g.release(key, 'not-the-holder');
    expect(await g.tryLock(key)).toBeUndefined();
    if (held.acquired) await g.release(key, held.lockToken);
    expect(await g.tryLock(key)).toEqual(expect.any(String));
  });
});
