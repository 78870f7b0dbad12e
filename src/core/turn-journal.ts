import type { Redis } from 'ioredis';
import { z } from 'zod';
import { inboxKey } from './inbox.js';
import { ChatAddressSchema, LanguageSchema, SessionKeySchema, sessionKeyId, type SessionKey } from './session-store.js';

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

/**
 * The turns running right now, in Redis: a turn cut by a restart or a crash is found after the
 * restart and recovered from the project state, never sent again.
 */
export class TurnJournal {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'nvb',
  ) {}

  /** Journals the turn and, in the same transaction, takes its message out of the inbox. */
  async begin(turn: InterruptedTurn, inboxId?: string): Promise<void> {
    const multi = this.redis.multi().set(this.keyOf(turn.key), JSON.stringify(InterruptedTurnSchema.parse(turn)), 'EX', ENTRY_TTL_SECONDS);
    if (inboxId) multi.hdel(inboxKey(this.prefix), inboxId);
    await multi.exec();
  }

  async end(key: SessionKey): Promise<void> {
    await this.redis.del(this.keyOf(key));
  }

  /** Every journaled turn; unreadable entries are dropped. */
  async list(): Promise<InterruptedTurn[]> {
    const turns: InterruptedTurn[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:inflight:*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const raw = await this.redis.get(key);
        const parsed = raw === null ? undefined : InterruptedTurnSchema.safeParse(safeJson(raw));
        if (parsed?.success) turns.push(parsed.data);
        else await this.redis.del(key);
      }
    } while (cursor !== '0');
    return turns;
  }

  private keyOf(key: SessionKey): string {
    return `${this.prefix}:inflight:${sessionKeyId(key)}`;
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
