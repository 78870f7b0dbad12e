import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import type { Button } from '../../src/core/types.js';

export type ButtonAction = Button['action'];

const ButtonTargetSchema = z.object({
  action: z.enum(BUTTON_ACTIONS),
  platform: z.literal('telegram'),
  chatId: z.string(),
  userId: z.string(),
  threadId: z.string().optional(),
});

/** What a pressed button means: the action, and where the answer it sat under was posted. */
export type ButtonTarget = z.infer<typeof ButtonTargetSchema>;

export interface ButtonStoreOptions {
  /** How long a button keeps working; default 30 days (as long as a session). */
  ttlSeconds?: number;
}

const CALLBACK_PREFIX = 'b:';
// 12 base64url characters: 72 random bits, far under the 64-byte callback_data limit.
const ID_BYTES = 9;

/**
 * Inline buttons carry only a random id in `callback_data`; what it means lives in Redis,
 * so a button still works after a restart, on another replica, and days later.
 */
export class ButtonStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: ButtonStoreOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? 30 * 24 * 3600;
  }

  /** Stores one id per button; returns each button's `callback_data`, in order. */
  async save(where: Omit<ButtonTarget, 'action' | 'platform'>, actions: readonly ButtonAction[]): Promise<string[]> {
    const batch = this.redis.multi();
    const data = actions.map((action) => {
      const id = randomBytes(ID_BYTES).toString('base64url');
      const target: ButtonTarget = { action, platform: 'telegram', chatId: where.chatId, userId: where.userId };
      if (where.threadId !== undefined) target.threadId = where.threadId;
      batch.set(this.key(id), JSON.stringify(target), 'EX', this.ttlSeconds);
      return `${CALLBACK_PREFIX}${id}`;
    });
    await batch.exec();
    return data;
  }

  /** The button behind `callback_data`, or undefined when it is unknown or expired. */
  async lookup(callbackData: string): Promise<ButtonTarget | undefined> {
    if (!callbackData.startsWith(CALLBACK_PREFIX)) return undefined;
    const id = callbackData.slice(CALLBACK_PREFIX.length);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) return undefined;
    const raw = await this.redis.get(this.key(id));
    if (raw === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = ButtonTargetSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }

  private key(id: string): string {
    return this.keys.telegramButton(id);
  }
}
