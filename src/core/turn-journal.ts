import type { Redis } from 'ioredis';
import { scanKeys } from '../lib/scan-keys.js';
import { z } from 'zod';
import { releaseInScript } from './inbox.js';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';
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
-- KEYS[1] the journal entry; KEYS[2] the inbox; KEYS[3] the session's pending turns
-- ARGV[1] the entry; ARGV[2] its TTL in s; ARGV[3] the message's inbox id or ''; ARGV[4] the turn's queue entry or ''
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
${releaseInScript('KEYS[2]', 'ARGV[3]')}
if ARGV[4] ~= '' and redis.call('LINDEX', KEYS[3], 0) == ARGV[4] then
  redis.call('LPOP', KEYS[3])
end
return 1
`;

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
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
  ) {}

  /**
   * Journals the turn and, in the same step, takes its message out of the inbox or the queue:
   * from here on a crash means recovery, never a second send.
   */
  async begin(turn: InterruptedTurn, source: TurnSource = {}): Promise<void> {
    await this.redis.eval(
      BEGIN,
      3,
      this.keyOf(turn.key),
      source.inboxId ? this.keys.inboxOf(source.inboxId) : this.keys.inboxFor(turn.key.platform, turn.key.userId),
      this.keys.turnPending(turn.key),
      JSON.stringify(InterruptedTurnSchema.parse(turn)),
      ENTRY_TTL_SECONDS,
      source.inboxId ?? '',
      source.queueEntry ?? '',
    );
  }

  async end(key: SessionKey): Promise<void> {
    await this.redis.del(this.keyOf(key));
  }

  /** Every journaled turn; unreadable entries are dropped. */
  async list(): Promise<InterruptedTurn[]> {
    const turns: InterruptedTurn[] = [];
    for await (const keys of scanKeys(this.redis, this.keys.inflightPattern())) {
      for (const key of keys) {
        const raw = await this.redis.get(key);
        const parsed = raw === null ? undefined : InterruptedTurnSchema.safeParse(safeJson(raw));
        if (parsed?.success) turns.push(parsed.data);
        else await this.redis.del(key);
      }
    }
    return turns;
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
