import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import { LanguageSchema } from '../../src/core/session-store.js';
import type { Language } from '../../src/core/types.js';

/**
 * Links waiting for their person to open a private chat with the bot. The group gets a button
 * to `t.me/<bot>?start=<id>`: the id is opaque and short, never the link or a token; the link
 * waits here, under a TTL, and goes out when its own person presses Start.
 */
export interface PrivateLinkStoreOptions {
  /** How long a button keeps working; default one day. */
  ttlSeconds?: number;
}

const StoredSchema = z.object({ userId: z.string(), text: z.string(), language: LanguageSchema });
type Stored = z.infer<typeof StoredSchema>;

/** `l` and 16 base64url characters: well within Telegram's 64 characters of `[A-Za-z0-9_-]`. */
const ID_PATTERN = /^l[A-Za-z0-9_-]{16}$/;
const DEFAULT_TTL_SECONDS = 24 * 3600;

export type TakenLink =
  | { kind: 'found'; text: string; language: Language }
  /** Unknown, expired, malformed or already sent. */
  | { kind: 'expired' }
  /** Someone else pressed the button: the link is not theirs. */
  | { kind: 'not-yours'; language: Language };

export class PrivateLinkStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: PrivateLinkStoreOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  }

  /** Keeps `text` for `userId`; returns the id for the deep link. */
  async save(userId: string, text: string, language: Language): Promise<string> {
    const id = `l${randomBytes(12).toString('base64url')}`;
    const stored: Stored = { userId, text, language };
    await this.redis.set(this.key(id), JSON.stringify(stored), 'EX', this.ttlSeconds);
    return id;
  }

  /** The link behind `id` when `userId` is its person; it is given out once. */
  async take(id: string, userId: string): Promise<TakenLink> {
    if (!ID_PATTERN.test(id)) return { kind: 'expired' };
    const raw = await this.redis.get(this.key(id));
    if (raw === null) return { kind: 'expired' };
    const stored = parseStored(raw);
    if (stored === undefined) return { kind: 'expired' };
    if (stored.userId !== userId) return { kind: 'not-yours', language: stored.language };
    await this.redis.del(this.key(id));
    return { kind: 'found', text: stored.text, language: stored.language };
  }

  /** The payload of a `/start <payload>` message, when it is one of ours in shape (checked again on `take`). */
  static payloadOf(text: string): string | undefined {
    const match = /^\/start(?:@[A-Za-z0-9_]+)?[ \t]+(\S+)\s*$/.exec(text.trim());
    return match?.[1];
  }

  private key(id: string): string {
    return this.keys.telegramPrivateLink(id);
  }
}

function parseStored(raw: string): Stored | undefined {
  try {
    const parsed = StoredSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
