import { describe, expect, it } from 'vitest';
import { Inbox } from '../../src/core/inbox.js';
import { sessionKeyId } from '../../src/core/redis-keys.js';
import type { SessionKey } from '../../src/core/session-store.js';
import { TurnGate, type PendingTurn } from '../../src/core/turn-gate.js';
import { TurnJournal, type InterruptedTurn } from '../../src/core/turn-journal.js';
import { UsageStats } from '../../src/core/usage-stats.js';
import { testRedisClients } from '../helpers/redis.js';

const connect = testRedisClients();

function rig() {
  const { redis, keys } = connect();
  return { redis, keys };
}

const key: SessionKey = { platform: 'telegram', chatId: '7', userId: '7' };

function interrupted(at = Date.now()): InterruptedTurn {
  return { key, address: { platform: 'telegram', chatId: '7', userId: '7' }, language: 'en', sessionId: 's1', startedAt: at };
}

function turn(text: string): PendingTurn {
  return { text, language: 'en', address: { platform: 'telegram', chatId: '7', userId: '7' }, receivedAt: Date.now() };
}

describe('the sweep indexes', () => {
  it('when a turn is journaled and ends, then the journal index holds it by its lock deadline and drops it in the same step', async () => {
    const { redis, keys } = rig();
    const journal = new TurnJournal(redis, keys, { lockTtlMs: 30_000, now: () => 1_000_000 });
    await journal.begin(interrupted());
    expect(await redis.zrange(keys.inflightIndex(key), 0, -1, 'WITHSCORES')).toEqual([sessionKeyId(key), '1030000']);
    await journal.end(key);
    expect(await redis.exists(keys.inflightIndex(key), keys.inflight(key))).toBe(0);
  });

  it('when the sweep meets a journaled turn whose lock is held, then it takes nothing and looks again once the lock could lapse; once free, it claims turn and lock together', async () => {
    const { redis, keys } = rig();
    const gate = new TurnGate(redis, keys, { lockTtlMs: 20_000 });
    const entered = await gate.enter(key, turn('a'));
    if (!entered.acquired) throw new Error('expected the lock');
    const journal = new TurnJournal(redis, keys, { lockTtlMs: 20_000 });
    await journal.begin(interrupted());
    // Not due yet: the lock's deadline lies ahead.
    expect(await journal.claimInterrupted()).toEqual([]);
    // Looked at anyway (as at start): the live lock pushes the deadline to its own expiry.
    const before = Date.now();
    expect(await journal.claimInterrupted(Infinity)).toEqual([]);
    expect(Number(await redis.zscore(keys.inflightIndex(key), sessionKeyId(key)))).toBeGreaterThanOrEqual(before + 19_000);
    // The holder dies (its lock goes): the turn is claimed with the lock, once.
    await redis.del(keys.turnLock(key));
    const [claimed, again] = await Promise.all([journal.claimInterrupted(Infinity), new TurnJournal(redis, keys).claimInterrupted(Infinity)]);
    expect([...claimed, ...again].map((c) => c.turn.sessionId)).toEqual(['s1']);
    const lockToken = [...claimed, ...again][0]?.lockToken;
    expect(await redis.get(keys.turnLock(key))).toBe(lockToken);
  });

  it('when an indexed turn has no journal entry any more, then the sweep drops it from the index and takes no lock', async () => {
    const { redis, keys } = rig();
    const journal = new TurnJournal(redis, keys);
    await journal.begin(interrupted());
    await redis.del(keys.inflight(key));
    expect(await journal.claimInterrupted(Infinity)).toEqual([]);
    expect(await redis.exists(keys.inflightIndex(key), keys.turnLock(key))).toBe(0);
  });

  it('when turns queue behind a holder, then the session is indexed; drained or cleared, it leaves the index in the same step', async () => {
    const { redis, keys } = rig();
    const gate = new TurnGate(redis, keys, { lockTtlMs: 20_000 });
    const first = await gate.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected the lock');
    await gate.enter(key, turn('b'));
    expect(await redis.zrange(keys.turnPendingIndex(key), 0, -1)).toEqual([sessionKeyId(key)]);
    // The holder lives: the sweep takes nothing.
    expect(await gate.claimWaiting(Infinity)).toEqual([]);
    const b = await gate.next(key, first.lockToken);
    expect(await gate.next(key, first.lockToken, b?.entry)).toBeUndefined();
    expect(await redis.exists(keys.turnPendingIndex(key))).toBe(0);

    const again = await gate.enter(key, turn('c'));
    if (!again.acquired) throw new Error('expected the lock');
    await gate.enter(key, turn('d'));
    expect(await redis.zcard(keys.turnPendingIndex(key))).toBe(1);
    await gate.clear(key, again.lockToken);
    expect(await redis.exists(keys.turnPendingIndex(key))).toBe(0);
  });

  it('when a message is kept and released, then the inbox index follows it; entries of a dead owner are found through the index', async () => {
    const { redis, keys } = rig();
    const owner = new Inbox(redis, keys);
    await owner.start();
    await owner.admit(keys.telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: { text: 'one' } });
    await owner.admit(keys.telegramUpdate(1, 2), 60, { id: 'telegram:2', payload: { text: 'two' } });
    expect((await redis.zrange(keys.inboxIndexOf(keys.inbox()), 0, -1)).sort()).toEqual(['telegram:1', 'telegram:2']);
    await owner.release('telegram:1');
    expect(await redis.zrange(keys.inboxIndexOf(keys.inbox()), 0, -1)).toEqual(['telegram:2']);
    owner.stop();
    await redis.del(keys.alive(owner.ownerId));
    const taker = new Inbox(redis, keys);
    await taker.start();
    expect(await taker.claimOrphans('telegram:')).toEqual([{ id: 'telegram:2', payload: { text: 'two' } }]);
    taker.stop();
  });

  it('when an inbox entry predates the index (an upgrade), then starting indexes it and the sweep finds it', async () => {
    const { redis, keys } = rig();
    await redis.hset(keys.inbox(), 'telegram:5', JSON.stringify({ owner: 'gone', payload: { text: 'old' } }));
    const taker = new Inbox(redis, keys);
    await taker.start();
    expect(await taker.claimOrphans('telegram:')).toEqual([{ id: 'telegram:5', payload: { text: 'old' } }]);
    taker.stop();
  });

  it('when people run turns over several days, then /stats counts each once within the session TTL, and not those before it', async () => {
    const { redis, keys } = rig();
    const usage = new UsageStats(redis, keys, { peopleDays: 3 });
    const day = 86_400_000;
    const now = Date.UTC(2026, 11, 3, 12);
    await usage.count('turns', now - 5 * day, 'telegram:old');
    await usage.count('turns', now - 2 * day, 'telegram:a');
    await usage.count('turns', now - day, 'telegram:a');
    await usage.count('turns', now - day, 'discord:b');
    await usage.count('turns', now, 'telegram:c');
    await usage.count('turns', now, 'telegram:a');
    expect(await usage.users(now)).toBe(3);
    // The daily sets live as long as they are read.
    expect(await redis.ttl(keys.statsPeople(now))).toBeGreaterThan(3 * 86_400);
  });
});
