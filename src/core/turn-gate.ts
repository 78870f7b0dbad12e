import { RATE_STEP_LUA, type RateCheck } from './flood-control.js';
import { releaseInScript } from './inbox.js';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { Lease, leaseValue } from '../lib/lease.js';
import { ProjectRefSchema } from './project-ref.js';
import { runScript } from '../lib/lua/script.js';
import { TURN_WAITING_CLAIM } from '../lib/lua/turn-waiting-claim.js';
import { sessionKeyId, type RedisKeys } from './redis-keys.js';
import { ChatAddressSchema, LanguageSchema, type SessionKey } from './session-store.js';
import type { ChatAddress, Language } from './types.js';

/** A message that arrived while its session's turn was running, waiting in Redis. */
export interface PendingTurn {
  text: string;
  language: Language;
  address: ChatAddress;
  receivedAt: number;
  /** The project the message was sent to (a reply to one of its messages), when known: it runs there. */
  projectRef?: string;
}

/** A turn taken from the queue by `next`: `entry` is its list entry, which stays queued until the turn is journaled or done. */
export interface QueuedTurn extends PendingTurn {
  entry: string;
}

const PendingTurnSchema = z.object({
  text: z.string(),
  language: LanguageSchema,
  address: ChatAddressSchema,
  receivedAt: z.number(),
  projectRef: ProjectRefSchema.optional(),
  /** Makes the entry unique, so a resent ENTER finds the turn it queued rather than queueing it twice. */
  nonce: z.string().optional(),
});

/** A waiting turn taken up by the sweep, its session's lock now held with `lockToken`. */
export interface WaitingTurn extends PendingTurn {
  lockToken: string;
}

// Sessions taken up per sweep: the rest wait for the next one.
const CLAIM_BATCH = 200;

/** Why a turn was not queued; `notify`: the first refusal of its kind, so the person is told (once). */
export interface EnterRefusal {
  reason: 'queue_full' | 'rate_limited';
  notify: boolean;
}

export type EnterResult =
  | { acquired: true; lockToken: string }
  | { acquired: false; position: number }
  | { acquired: false; refused: EnterRefusal };

export interface EnterOptions {
  /** The message's inbox id: a queued turn leaves the inbox in the same script. */
  inboxId?: string | undefined;
  /** Counts the message against its sender's rate on the way (no extra round trip); absent: counted already. */
  rate?: RateCheck | undefined;
}

export interface TurnGateOptions {
  /** The lock lives this long unless extended: a crashed holder frees the session after it. */
  lockTtlMs: number;
  /** A pending list nobody drains (its holder crashed, no new message came) expires after this; default 24 h. */
  pendingTtlMs?: number;
  /** Turns that may wait behind the running one; more are refused (flood control). Default: no cap. */
  maxQueued?: number;
  /** The clock the sweep index's deadlines are read against; default `Date.now`. */
  now?: () => number;
}

const ENTER = `${RATE_STEP_LUA}
-- KEYS[1] the session's turn lock (string: the holder's token, a Lease value that Lease renews and releases)
-- KEYS[2] the session's pending turns (list of JSON, oldest first)
-- KEYS[3] the inbox of received messages (hash)
-- KEYS[4] the session's "queue full, told" mark
-- KEYS[5] the person's message counter for this window (unused when ARGV[7] is '')
-- KEYS[6] the index of sessions with turns waiting
-- KEYS[7] the inbox index
-- ARGV[1] the new lock token
-- ARGV[2] lock TTL in ms
-- ARGV[3] the turn, as JSON
-- ARGV[4] pending list (and mark) TTL in ms
-- ARGV[5] the message's inbox id, or '' (a queued turn is durable: it leaves the inbox at once)
-- ARGV[6] most turns that may wait (0: no cap)
-- ARGV[7] messages per window, or '' when the caller counted this message already
-- ARGV[8] the counter's TTL in ms
-- ARGV[9] the session's id in the index; ARGV[10] now in ms
-- Returns 0 when the lock was taken, n > 0 the turn's position in the pending list (1 = next),
-- -1 / -2 queue full (-1: the first time since it drained, so tell), -3 / -4 over the rate (-3: tell).
-- A client resends a script whose answer a Redis restart cut off: the lock token and the
-- turn's nonce let the second run answer as the first did instead of queueing a duplicate.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return 0
end
local queued = redis.call('LPOS', KEYS[2], ARGV[3])
if queued then
  return queued + 1
end
if ARGV[7] ~= '' then
  local step = rate_step(KEYS[5], tonumber(ARGV[7]), ARGV[8])
  if step > 0 then
    return -2 - step
  end
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
local cap = tonumber(ARGV[6])
if cap > 0 and redis.call('LLEN', KEYS[2]) >= cap then
  if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[4]) then
    return -1
  end
  return -2
end
local position = redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
-- Due for the sweep once the holder's lock could have lapsed (a live holder drains it first).
local lockTtl = redis.call('PTTL', KEYS[1])
if lockTtl < 0 then lockTtl = tonumber(ARGV[2]) end
redis.call('ZADD', KEYS[6], tonumber(ARGV[10]) + lockTtl, ARGV[9])
${releaseInScript('KEYS[3]', 'KEYS[7]', 'ARGV[5]')}
return position
`;

const NEXT = `
-- KEYS[1] the session's turn lock
-- KEYS[2] the session's pending turns
-- KEYS[3] the session's "queue full, told" mark: dropped once the queue drains
-- KEYS[4] the index of sessions with turns waiting: the session leaves it once the queue drains
-- ARGV[1] the caller's lock token
-- ARGV[2] lock TTL in ms
-- ARGV[3] the entry of the turn the caller just finished, or ''
-- ARGV[4] the session's id in the index
-- Returns the next turn's JSON, keeping (and refreshing) the lock; or false after releasing it
-- when none wait, or when another holder owns the lock (that holder drains the list).
-- The turn stays at the head of the list until it is journaled or finished: a holder that dies
-- before leaves it for the next one, and a resent call returns the same turn.
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return false
end
if ARGV[3] ~= '' and redis.call('LINDEX', KEYS[2], 0) == ARGV[3] then
  redis.call('LPOP', KEYS[2])
end
local turn = redis.call('LINDEX', KEYS[2], 0)
if turn then
  -- Also re-takes a lock that expired while nobody else took it: its turns are still ours.
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return turn
end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[4])
if holder then
  redis.call('DEL', KEYS[1])
end
return false
`;

const CLEAR = `
-- KEYS[1] the session's turn lock
-- KEYS[2] the session's pending turns
-- KEYS[3] the session's "queue full, told" mark
-- KEYS[4] the index of sessions with turns waiting
-- ARGV[1] the caller's lock token, or '' to leave the lock to whoever holds it
-- ARGV[2] the session's id in the index
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[2])
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * One turn at a time per session; later messages wait in order in Redis, so several bot
 * replicas share one queue per session. Each operation is one Lua script: a message arriving
 * while a holder finishes is either popped by that holder or takes the lock, never stranded.
 */
export class TurnGate {
  private readonly lockTtlMs: number;
  private readonly pendingTtlMs: number;
  private readonly maxQueued: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly keyMap: RedisKeys,
    options: TurnGateOptions,
  ) {
    this.lockTtlMs = options.lockTtlMs;
    this.pendingTtlMs = options.pendingTtlMs ?? 24 * 3600 * 1000;
    this.maxQueued = options.maxQueued ?? 0;
    this.now = options.now ?? Date.now;
  }

  /**
   * Takes the session's turn lock, or appends the turn to its pending list. A lock taken after
   * a crashed holder's lock expired may find older turns still pending: the caller runs its
   * own turn, then drains them with `next`. Before any of that, flood control: the sender's
   * rate (when `options.rate` is given) and the cap on waiting turns; a refused turn is not kept.
   */
  async enter(key: SessionKey, turn: PendingTurn, options: EnterOptions = {}): Promise<EnterResult> {
    const lockToken = leaseValue();
    const json = JSON.stringify(PendingTurnSchema.parse({ ...turn, nonce: lockToken }));
    const [lock, pending, full] = this.keys(key);
    const { rate } = options;
    const inbox = options.inboxId ? this.keyMap.inboxOf(options.inboxId) : this.keyMap.inboxFor(key.platform, key.userId);
    const result = Number(
      await this.redis.eval(
        ENTER,
        7,
        lock,
        pending,
        inbox,
        full,
        rate?.key ?? full,
        this.keyMap.turnPendingIndex(key),
        this.keyMap.inboxIndexOf(inbox),
        lockToken,
        this.lockTtlMs,
        json,
        this.pendingTtlMs,
        options.inboxId ?? '',
        this.maxQueued,
        rate?.limit ?? '',
        rate?.ttlMs ?? 0,
        sessionKeyId(key),
        this.now(),
      ),
    );
    if (result === 0) return { acquired: true, lockToken };
    if (result > 0) return { acquired: false, position: result };
    const reason = result >= -2 ? 'queue_full' : 'rate_limited';
    return { acquired: false, refused: { reason, notify: result === -1 || result === -3 } };
  }

  /** Takes the lock only if it is free, queueing nothing: for work that is not a new message (recovery). */
  async tryLock(key: SessionKey): Promise<string | undefined> {
    const lock = this.lock(key, leaseValue());
    return (await lock.take()).taken ? lock.value : undefined;
  }

  /** The session's lock held with `lockToken` (taken by `enter` or `tryLock`): renew it and release it through this. */
  lock(key: SessionKey, lockToken: string): Lease {
    return new Lease(this.redis, this.keys(key)[0], this.lockTtlMs, lockToken);
  }

  /** Lets go of the lock without touching pending turns (a stop between turns leaves them queued). */
  async release(key: SessionKey, lockToken: string): Promise<void> {
    await this.lock(key, lockToken).release();
  }

  /** Keeps the lock for another `lockTtlMs`; false when the caller no longer holds it. */
  async extend(key: SessionKey, lockToken: string): Promise<boolean> {
    return this.lock(key, lockToken).renew();
  }

  /**
   * The next pending turn, keeping the lock, once `finished` (the entry of the turn just run, if
   * still queued) has left the queue; or undefined after releasing the lock when none wait.
   * Undefined also when another holder took the lock meanwhile: that holder drains the list.
   * A pending entry that does not validate is dropped and the next one is taken.
   */
  async next(key: SessionKey, lockToken: string, finished = ''): Promise<QueuedTurn | undefined> {
    const [lock, pending, full] = this.keys(key);
    let done = finished;
    for (;;) {
      const raw = await this.redis.eval(NEXT, 4, lock, pending, full, this.keyMap.turnPendingIndex(key), lockToken, this.lockTtlMs, done, sessionKeyId(key));
      if (typeof raw !== 'string') return undefined;
      const turn = parseTurn(raw);
      if (turn !== undefined) return { ...turn, entry: raw };
      done = raw;
    }
  }

  /**
   * /new: drops every pending turn, and the lock when `lockToken` holds it. Without a token
   * the running turn keeps its lock and releases it through `next` as usual.
   */
  async clear(key: SessionKey, lockToken?: string): Promise<void> {
    const [lock, pending, full] = this.keys(key);
    await this.redis.eval(CLEAR, 4, lock, pending, full, this.keyMap.turnPendingIndex(key), lockToken ?? '', sessionKeyId(key));
  }

  /**
   * The oldest waiting turn of each session whose lock lapsed by `upTo` (default now;
   * \`Infinity\` at start), its lock taken in the same step that found it free: its holder died
   * before it could take them. Reads the index, never the keyspace. A queue whose head does not
   * validate is dropped.
   */
  async claimWaiting(upTo = this.now()): Promise<WaitingTurn[]> {
    const claimed: WaitingTurn[] = [];
    // One index, or one per bucket on a cluster: read together, in one round trip per node.
    const indexes = this.keyMap.turnPendingIndexes();
    const dues = await Promise.all(indexes.map((index) => this.redis.zrangebyscore(index, '-inf', upTo === Infinity ? '+inf' : upTo, 'LIMIT', 0, CLAIM_BATCH)));
    for (const [at, index] of indexes.entries()) {
      for (const id of dues[at] ?? []) {
        const lockToken = leaseValue();
        const lock = this.keyMap.turnLockOf(id);
        const raw = await runScript(this.redis, TURN_WAITING_CLAIM, [this.keyMap.turnPendingOf(id), lock, index], [id, lockToken, this.lockTtlMs, this.now()]);
        if (typeof raw !== 'string') continue;
        const turn = parseTurn(raw);
        if (turn) claimed.push({ ...turn, lockToken });
        else {
          await this.redis.multi().del(this.keyMap.turnPendingOf(id)).zrem(index, id).exec();
          await new Lease(this.redis, lock, this.lockTtlMs, lockToken).release();
        }
      }
    }
    return claimed;
  }

  /** How many turns wait (for tests and /status). */
  async pendingCount(key: SessionKey): Promise<number> {
    return this.redis.llen(this.keys(key)[1]);
  }

  private keys(key: SessionKey): [lock: string, pending: string, full: string] {
    return [this.keyMap.turnLock(key), this.keyMap.turnPending(key), this.keyMap.turnFull(key)];
  }
}

function parseTurn(raw: string): PendingTurn | undefined {
  try {
    const result = PendingTurnSchema.safeParse(JSON.parse(raw));
    if (!result.success) return undefined;
    const { text, language, address, receivedAt, projectRef } = result.data;
    return { text, language, address, receivedAt, ...(projectRef === undefined ? {} : { projectRef }) };
  } catch {
    return undefined;
  }
}
