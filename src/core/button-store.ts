import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BUTTON_ACTIONS } from './commands.js';
import type { ButtonPlatform, RedisKeys } from './redis-keys.js';
import type { Button } from './types.js';

export type ButtonAction = Button['action'];

export const ButtonRecordSchema = z.object({
  ownerId: z.string(),
  chatId: z.string(),
  threadId: z.string().optional(),
  actions: z.array(z.enum(BUTTON_ACTIONS)),
  createdAt: z.number(),
  /** The project the answer was about, when the platform knows it. */
  projectRef: z.string().optional(),
});
/** One row of buttons: who they were posted for, where, and what each does. */
export type ButtonRecord = z.infer<typeof ButtonRecordSchema>;

export interface ButtonStoreOptions {
  /** Whose rows these are: each platform keeps its own key family in the key map. */
  platform: ButtonPlatform;
  /** A row works this long; default 30 days, like a session. */
  ttlSeconds?: number;
  /** Reads rows an older version stored in another shape (buttons live 30 days). */
  legacy?: z.ZodType<ButtonRecord>;
  /** Only the person the row was posted for may press it (Discord); else anyone, in their own project (Telegram). */
  ownerOnly: boolean;
  /** A press counts only in the chat the row was posted in (a forged Telegram callback elsewhere does nothing). */
  sameChatOnly: boolean;
}

/** What a press means: act, or why not. */
export type ButtonPress =
  | { kind: 'act'; action: ButtonAction; record: ButtonRecord }
  | { kind: 'expired' }
  | { kind: 'elsewhere'; record: ButtonRecord }
  | { kind: 'not-yours'; record: ButtonRecord };

const ROW_ID = /^[A-Za-z0-9_-]{1,32}$/;
// 16 base64url characters: short enough for Telegram's 64-byte callback_data with the action.
const ROW_ID_BYTES = 12;

/**
 * Buttons whose meaning lives in Redis, not in memory: a platform's button carries only a random
 * row id (and its action), so it still works after a restart, on another replica, and days later.
 */
export class ButtonStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: ButtonStoreOptions,
  ) {
    this.ttlSeconds = options.ttlSeconds ?? 30 * 86_400;
  }

  /** Saves a row and returns its id. */
  async save(row: Omit<ButtonRecord, 'createdAt'>): Promise<string> {
    const id = randomBytes(ROW_ID_BYTES).toString('base64url');
    const value: ButtonRecord = { ...row, createdAt: Date.now() };
    await this.redis.set(this.key(id), JSON.stringify(value), 'EX', this.ttlSeconds);
    return id;
  }

  /** The row, or undefined when it expired, never existed or is not a row. */
  async read(rowId: string): Promise<ButtonRecord | undefined> {
    if (!ROW_ID.test(rowId)) return undefined;
    const raw = await this.redis.get(this.key(rowId));
    if (raw === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = ButtonRecordSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const old = this.options.legacy?.safeParse(value);
    return old?.success ? old.data : undefined;
  }

  /** A press by `by` on `action` of row `rowId` (an old single-button row names its own action). */
  async press(rowId: string, action: ButtonAction | undefined, by: { userId: string; chatId: string | undefined }): Promise<ButtonPress> {
    const record = await this.read(rowId);
    const chosen = action ?? (record?.actions.length === 1 ? record.actions[0] : undefined);
    if (record === undefined || chosen === undefined || !record.actions.includes(chosen)) return { kind: 'expired' };
    if (this.options.sameChatOnly && by.chatId !== record.chatId) return { kind: 'elsewhere', record };
    if (this.options.ownerOnly && by.userId !== record.ownerId) return { kind: 'not-yours', record };
    return { kind: 'act', action: chosen, record };
  }

  private key(rowId: string): string {
    return this.keys.button(this.options.platform, rowId);
  }
}
