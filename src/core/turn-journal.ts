import type { Redis } from 'ioredis';
import { z } from 'zod';
import { leaseValue } from '../lib/lease.js';
import { LEASE_RELEASE } from '../lib/lua/lease-release.js';
import { TURN_RECOVER_CLAIM } from '../lib/lua/turn-recover-claim.js';
import { runScript } from '../lib/lua/script.js';
import { releaseInScript } from './inbox.js';
import { createRedisKeys, sessionKeyId, type RedisKeys } from './redis-keys.js';
import { ChatAddressSchema, LanguageSchema, SessionKeySchema, type SessionKey } from './session-store.js';

const InterruptedTurnSchema = z.object({
  key: SessionKeySchema,
  address: ChatAddressSchema,
  language: LanguageSchema,
  sessionId: z.string(),
  /** The draft before the message was sent: recovery reports what changed since. */
  draftBefore: z.unknown().optional(),
  startedAt: z.number(),
});

export type InterruptedTurn = z.infer<typeof InterruptedTurnSchema>;

// A turn lasts 15 minutes at most; a day leaves room for a long outage, then the entry goes.
const ENTRY_TTL_SECONDS = 86_400;

const BEGIN = `
-- KEYS[1] the journal entry; KEYS[2] the inbox; KEYS[3] the session's pending turns; KEYS[4] the journal's index
-- KEYS[5] the inbox index
-- ARGV[1] the entry; ARGV[2] its TTL in s; ARGV[3] the message's inbox id or ''; ARGV[4] the turn's queue entry or ''
-- ARGV[5] the session's id in the index; ARGV[6] when the turn's lock lapses unless renewed (ms)
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5])
${releaseInScript('KEYS[2]', 'KEYS[5]', 'ARGV[3]')}
if ARGV[4] ~= '' and redis.call('LINDEX', KEYS[3], 0) == ARGV[4] then
  redis.call('LPOP', KEYS[3])
end
return 1
`;

// Interrupted turns taken up per sweep: the rest wait for the next one.
const CLAIM_BATCH = 200;

export interface TurnJournalOptions {
  /** The turn lock's life: a journaled turn is due for a look once its lock could have lapsed. Default 30 s. */
  lockTtlMs?: number;
  /** The clock the index's deadlines are read against; default `Date.now`. */
  now?: () => number;
}

/** An interrupted turn, its session's lock now held with `lockToken`. */
export interface ClaimedTurn {
  turn: InterruptedTurn;
  lockToken: string;
}

/** Where the turn's message waits until it is journaled: the inbox, or the session's queue. */
export interface TurnSource {
  inboxId?: string | undefined;
  queueEntry?: string | undefined;
}

/**
 * The turns running right now, in Redis: a turn cut by a restart or a crash is found after the
 * restart and recovered from the project state, never sent again.
 */
export class TurnJournal {
  private readonly lockTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: TurnJournalOptions = {},
  ) {
    this.lockTtlMs = options.lockTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Journals the turn and, in the same step, takes its message out of the inbox or the queue:
   * from here on a crash means recovery, never a second send.
   */
  async begin(turn: InterruptedTurn, source: TurnSource = {}): Promise<void> {
    const inbox = source.inboxId ? this.keys.inboxOf(source.inboxId) : this.keys.inboxFor(turn.key.platform, turn.key.userId);
    await this.redis.eval(
      BEGIN,
      5,
      this.keyOf(turn.key),
      inbox,
      this.keys.turnPending(turn.key),
      this.keys.inflightIndex(turn.key),
      this.keys.inboxIndexOf(inbox),
      JSON.stringify(InterruptedTurnSchema.parse(turn)),
      ENTRY_TTL_SECONDS,
      source.inboxId ?? '',
      source.queueEntry ?? '',
      sessionKeyId(turn.key),
      this.now() + this.lockTtlMs,
    );
  }

  /** The entry and its place in the index go in one step. */
  async end(key: SessionKey): Promise<void> {
    await this.redis.multi().del(this.keyOf(key)).zrem(this.keys.inflightIndex(key), sessionKeyId(key)).exec();
  }

  /**
   * The interrupted turns due by `upTo` (default now; \`Infinity\` at start, for turns a stop handed
   * back), each with its session's lock taken in the same step that found the entry still there
   * and the lock free. Reads the index, never the keyspace; unreadable entries are dropped.
   */
  async claimInterrupted(upTo = this.now()): Promise<ClaimedTurn[]> {
    const claimed: ClaimedTurn[] = [];
    // One index, or one per bucket on a cluster: read together, in one round trip per node.
    const indexes = this.keys.inflightIndexes();
    const dues = await Promise.all(indexes.map((index) => this.redis.zrangebyscore(index, '-inf', upTo === Infinity ? '+inf' : upTo, 'LIMIT', 0, CLAIM_BATCH)));
    for (const [at, index] of indexes.entries()) {
      for (const id of dues[at] ?? []) {
        const lockToken = leaseValue();
        const raw = await runScript(this.redis, TURN_RECOVER_CLAIM, [this.keys.inflightOf(id), this.keys.turnLockOf(id), index], [id, lockToken, this.lockTtlMs, this.now()]);
        if (typeof raw !== 'string') continue;
        const parsed = InterruptedTurnSchema.safeParse(safeJson(raw));
        if (parsed.success) claimed.push({ turn: parsed.data, lockToken });
        else {
          await this.redis.multi().del(this.keys.inflightOf(id)).zrem(index, id).exec();
          await runScript(this.redis, LEASE_RELEASE, [this.keys.turnLockOf(id)], [lockToken]);
        }
      }
    }
    return claimed;
  }

  private keyOf(key: SessionKey): string {
    return this.keys.inflight(key);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
