import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import type { Button } from '../../src/core/types.js';

export type ButtonAction = Button['action'];

const ButtonRecordSchema = z.object({
  ownerId: z.string(),
  chatId: z.string(),
  actions: z.array(z.enum(BUTTON_ACTIONS)),
  createdAt: z.number(),
});
/** One row of buttons: who may press them, and where they were posted. */
export type ButtonRecord = z.infer<typeof ButtonRecordSchema>;

export interface ButtonStoreOptions {
  /** A row of buttons works this long; default 30 days, like a session. */
  ttlSeconds?: number;
}

const CUSTOM_ID = new RegExp(`^nvb:([A-Za-z0-9_-]{16}):(${BUTTON_ACTIONS.join('|')})$`);

/**
 * Buttons whose state lives in Redis, not in memory: the custom id holds a random row id, so a
 * button still works after a restart and in another bot replica.
 */
export class ButtonStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: ButtonStoreOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? 30 * 86_400;
  }

  /** Saves a row and returns its id, for `buttonCustomId`. */
  async save(record: Omit<ButtonRecord, 'createdAt'>): Promise<string> {
    const id = randomBytes(12).toString('base64url');
    const value: ButtonRecord = { ...record, createdAt: Date.now() };
    await this.redis.set(this.key(id), JSON.stringify(value), 'EX', this.ttlSeconds);
    return id;
  }

  /** The row, or undefined when it expired or never existed. */
  async read(id: string): Promise<ButtonRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    if (raw === null) return undefined;
    try {
      const parsed = ButtonRecordSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  private key(id: string): string {
    return this.keys.discordButtons(id);
  }
}

/** `nvb:<row id>:<action>`: well under Discord's 100 characters. */
export function buttonCustomId(rowId: string, action: ButtonAction): string {
  return `nvb:${rowId}:${action}`;
}

export function parseButtonCustomId(customId: string): { rowId: string; action: ButtonAction } | undefined {
  const match = CUSTOM_ID.exec(customId);
  if (!match) return undefined;
  return { rowId: match[1] ?? '', action: (match[2] ?? 'status') as ButtonAction };
}
