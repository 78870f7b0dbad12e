import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Inbox } from '../../src/core/inbox.js';
import { SessionStore, type SessionKey } from '../../src/core/session-store.js';
import { TurnGate, type PendingTurn } from '../../src/core/turn-gate.js';
import { TurnJournal } from '../../src/core/turn-journal.js';
import { deliverOnce } from '../../src/render/delivery.js';
import { startReplyCutter, type ReplyCutter } from '../helpers/reply-cutter.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys, sessionKeyId } from '../../src/core/redis-keys.js';

// A Redis restart can cut the answer to a command Redis already ran; ioredis then sends the
// command again. Each step below must answer its resend as it answered the first run.

const key: SessionKey = { platform: 'telegram', chatId: '42', userId: '7' };

function turn(text: string): PendingTurn {
  return { text, language: 'en', address: { platform: 'telegram', chatId: '42', userId: '7' }, receivedAt: 1_700_000_000_000 };
}

describe('Redis steps resent after a lost answer', () => {
  const clients: Redis[] = [];
  const cutters: ReplyCutter[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    for (const cutter of cutters.splice(0)) await cutter.close();
  });

  /** A client whose next answer can be cut (`cutter`), and a direct one to look at the data. */
  async function rig(): Promise<{ cutter: ReplyCutter; cut: Redis; direct: Redis; prefix: string }> {
    const { url, prefix } = testRedis();
    const cutter = await startReplyCutter(url);
    cutters.push(cutter);
    const cut = new Redis(cutter.url, { maxRetriesPerRequest: null });
    const direct = new Redis(url);
    clients.push(cut, direct);
    await cut.ping();
    return { cutter, cut, direct, prefix };
  }

  it('when the answer to admitting a Telegram update is lost, then the resend still admits it (it is not taken for a duplicate) and keeps it once', async () => {
    const { cutter, cut, direct, prefix } = await rig();
    const inbox = new Inbox(cut, createRedisKeys(prefix));
    const lost = cutter.cutNextReply();
    expect(await inbox.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: { text: 'hello' } })).toBe(true);
    await lost;
    expect(await direct.hkeys(createRedisKeys(prefix).inbox())).toEqual(['telegram:1']);
    // Another process seeing the same update (Telegram handing it out again) is refused.
    expect(await new Inbox(direct, createRedisKeys(prefix)).admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: { text: 'hello' } })).toBe(false);
  });

  it('when the answer to taking the turn lock is lost, then the resend still holds the lock and queues nothing', async () => {
    const { cutter, cut, prefix } = await rig();
    const gate = new TurnGate(cut, createRedisKeys(prefix), { lockTtlMs: 10_000 });
    const lost = cutter.cutNextReply();
    const entered = await gate.enter(key, turn('first'));
    await lost;
    expect(entered.acquired).toBe(true);
    expect(await gate.pendingCount(key)).toBe(0);
  });

  it('when the answer to recovery taking a free turn lock is lost, then the resend still holds the lock and another process is refused', async () => {
    const { cutter, cut, direct, prefix } = await rig();
    const gate = new TurnGate(cut, createRedisKeys(prefix), { lockTtlMs: 10_000 });
    const lost = cutter.cutNextReply();
    const token = await gate.tryLock(key);
    await lost;
    expect(token).toEqual(expect.any(String));
    expect(await new TurnGate(direct, createRedisKeys(prefix), { lockTtlMs: 10_000 }).tryLock(key)).toBeUndefined();
    expect(await gate.extend(key, token as string)).toBe(true);
  });

  it('when the answer to queueing a turn is lost, then the turn is queued once', async () => {
    const { cutter, cut, prefix } = await rig();
    const gate = new TurnGate(cut, createRedisKeys(prefix), { lockTtlMs: 10_000 });
    expect((await gate.enter(key, turn('first'))).acquired).toBe(true);
    const lost = cutter.cutNextReply();
    expect(await gate.enter(key, turn('second'))).toEqual({ acquired: false, position: 1 });
    await lost;
    expect(await gate.pendingCount(key)).toBe(1);
  });

  it('when the answer to taking the next queued turn is lost, then the resend returns the same turn and none is skipped', async () => {
    const { cutter, cut, prefix } = await rig();
    const gate = new TurnGate(cut, createRedisKeys(prefix), { lockTtlMs: 10_000 });
    const first = await gate.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected the lock');
    await gate.enter(key, turn('b'));
    await gate.enter(key, turn('c'));
    const lost = cutter.cutNextReply();
    const b = await gate.next(key, first.lockToken);
    await lost;
    expect(b?.text).toBe('b');
    const lostAgain = cutter.cutNextReply();
    const c = await gate.next(key, first.lockToken, b?.entry);
    await lostAgain;
    expect(c?.text).toBe('c');
    expect(await gate.next(key, first.lockToken, c?.entry)).toBeUndefined();
  });

  it('when the answer to journaling a queued turn is lost, then only that turn leaves the queue', async () => {
    const { cutter, cut, direct, prefix } = await rig();
    const gate = new TurnGate(cut, createRedisKeys(prefix), { lockTtlMs: 10_000 });
    const first = await gate.enter(key, turn('a'));
    if (!first.acquired) throw new Error('expected the lock');
    await gate.enter(key, turn('b'));
    await gate.enter(key, turn('c'));
    const b = await gate.next(key, first.lockToken);
    const lost = cutter.cutNextReply();
    await new TurnJournal(cut, createRedisKeys(prefix)).begin(
      { key, address: turn('b').address, language: 'en', sessionId: 's1', startedAt: Date.now() },
      { queueEntry: b?.entry },
    );
    await lost;
    expect(await gate.pendingCount(key)).toBe(1);
    expect((await gate.next(key, first.lockToken, b?.entry))?.text).toBe('c');
    // Journaled once, and indexed for recovery.
    expect(await direct.exists(createRedisKeys(prefix).inflight(key))).toBe(1);
    expect(await direct.zrange(createRedisKeys(prefix).inflightIndex(key), 0, -1)).toEqual([sessionKeyId(key)]);
  });

  it('when the answer to claiming a dead process\'s message is lost, then the claimer still gets it and owns it', async () => {
    const { cutter, cut, direct, prefix } = await rig();
    const dead = new Inbox(direct, createRedisKeys(prefix));
    expect(await dead.admit(createRedisKeys(prefix).telegramUpdate(1, 9), 60, { id: 'telegram:9', payload: { text: 'orphan' } })).toBe(true);
    const claimer = new Inbox(cut, createRedisKeys(prefix));
    // The listing and the liveness check go through; the answer to the claim itself is lost.
    const lost = cutter.cutNextReply("redis.call('HGET'");
    const claimed = await claimer.claimOrphans('telegram:');
    await lost;
    expect(claimed).toEqual([{ id: 'telegram:9', payload: { text: 'orphan' } }]);
    expect(JSON.parse((await direct.hget(createRedisKeys(prefix).inbox(), 'telegram:9')) ?? '{}')).toMatchObject({ owner: claimer.ownerId });
  });

  it('when the answer to taking a video\'s delivery lease is lost, then the resend still delivers it, once', async () => {
    const { cutter, cut, prefix } = await rig();
    let sends = 0;
    const lost = cutter.cutNextReply();
    const outcome = await deliverOnce({ redis: cut, keys: createRedisKeys(prefix), workerId: 'w1', leaseMs: 10_000 }, 'render-1', async () => {
      sends += 1;
    });
    await lost;
    expect(outcome).toEqual({ kind: 'delivered' });
    expect(await deliverOnce({ redis: cut, keys: createRedisKeys(prefix), workerId: 'w2', leaseMs: 10_000 }, 'render-1', async () => {
      sends += 1;
    })).toEqual({ kind: 'already-delivered' });
    expect(sends).toBe(1);
  });

  it('when the answer to claiming a project\'s creation is lost, then the claimer still holds it and nobody else gets it', async () => {
    const { cutter, cut, direct, prefix } = await rig();
    const lost = cutter.cutNextReply();
    expect(await new SessionStore(cut, createRedisKeys(prefix)).creationClaim('telegram:42:7', 10_000).take()).toEqual({ taken: true });
    await lost;
    expect((await new SessionStore(direct, createRedisKeys(prefix)).creationClaim('telegram:42:7', 10_000).take()).taken).toBe(false);
  });
});
