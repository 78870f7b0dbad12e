import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import type { SessionKey } from '../../src/core/session-store.js';
import { TurnGate } from '../../src/core/turn-gate.js';
import { TurnJournal, type ClaimedTurn } from '../../src/core/turn-journal.js';
import { testRedis } from '../helpers/redis.js';

const clients: Redis[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

const SESSIONS = 40;
const TURNS_EACH = 60;
// Turns go on until the sweepers have run this often, whatever the machine's speed.
const MIN_SWEEPS = 100;

function session(n: number): SessionKey {
  return { platform: 'telegram', chatId: `c${n}`, userId: `u${n}` };
}

describe('recovery racing finishing turns', () => {
  it('when thousands of turns finish while sweeps run flat out on other connections, then no finished turn is ever claimed as interrupted, and a really interrupted one is claimed once', async () => {
    const { url, prefix } = testRedis();
    const keys = createRedisKeys(prefix);
    const connect = () => {
      const redis = new Redis(url);
      clients.push(redis);
      return redis;
    };
    // Turns run on their own connection; each sweeper is another process's connection.
    const turnsRedis = connect();
    const gate = new TurnGate(turnsRedis, keys, { lockTtlMs: 30_000 });
    const journal = new TurnJournal(turnsRedis, keys, { lockTtlMs: 30_000 });
    const sweepers = [connect(), connect()].map((redis) => new TurnJournal(redis, keys, { lockTtlMs: 30_000 }));

    const claims: ClaimedTurn[] = [];
    let sweeps = 0;
    let running = true;
    const sweeping = sweepers.map(async (sweeper) => {
      while (running) {
        // Everything indexed, as at start: the widest window for the race.
        claims.push(...(await sweeper.claimInterrupted(Infinity)));
        sweeps++;
      }
    });

    let finished = 0;
    const runSession = async (n: number) => {
      const key = session(n);
      for (let i = 0; i < TURNS_EACH || sweeps < MIN_SWEEPS; i++) {
        const entered = await gate.enter(key, { text: `t${i}`, language: 'en', address: { platform: 'telegram', chatId: key.chatId, userId: key.userId }, receivedAt: Date.now() });
        if (!entered.acquired) throw new Error('one turn at a time per session here: the lock is always free');
        await journal.begin({ key, address: { platform: 'telegram', chatId: key.chatId, userId: key.userId }, language: 'en', sessionId: `s${n}`, startedAt: Date.now() });
        // The turn ends as the scheduler ends it: journal entry first, then the lock.
        await journal.end(key);
        expect(await gate.next(key, entered.lockToken)).toBeUndefined();
        finished++;
      }
    };
    await Promise.all(Array.from({ length: SESSIONS }, (_, n) => runSession(n)));

    // A turn really cut off (journaled, its holder gone): the sweep still finds it.
    const cut = session(999);
    await journal.begin({ key: cut, address: { platform: 'telegram', chatId: cut.chatId, userId: cut.userId }, language: 'en', sessionId: 'cut', startedAt: Date.now() });
    const deadline = Date.now() + 60_000;
    while (!claims.some((claim) => claim.turn.sessionId === 'cut') && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    running = false;
    await Promise.all(sweeping);

    expect(finished).toBeGreaterThanOrEqual(SESSIONS * TURNS_EACH);
    expect(sweeps).toBeGreaterThanOrEqual(MIN_SWEEPS);
    expect(claims.map((claim) => claim.turn.sessionId)).toEqual(['cut']);
    expect(await turnsRedis.get(keys.turnLock(cut))).toBe(claims[0]?.lockToken);
  }, 180_000);
});
