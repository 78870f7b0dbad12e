import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { ButtonStore, type ButtonAction, type ButtonRecord } from '../../src/core/button-store.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';

export interface TelegramButtonOptions {
  /** How long a button keeps working; default 30 days (as long as a session). */
  ttlSeconds?: number;
}

/** A button stored before rows: one key per button, its action inside (read until they expire). */
const LegacyButtonSchema = z
  .object({ action: z.enum(BUTTON_ACTIONS), platform: z.literal('telegram'), chatId: z.string(), userId: z.string(), threadId: z.string().optional() })
  .transform((old): ButtonRecord => ({
    ownerId: old.userId,
    chatId: old.chatId,
    ...(old.threadId === undefined ? {} : { threadId: old.threadId }),
    actions: [old.action],
    createdAt: 0,
  }));

/**
 * Telegram's buttons: anyone in the group may press one, in their own project (README), but only
 * in the chat it was posted in.
 */
export function telegramButtonStore(redis: Redis, keys: RedisKeys = createRedisKeys(), options: TelegramButtonOptions = {}): ButtonStore {
  return new ButtonStore(redis, keys, {
    platform: 'telegram',
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    legacy: LegacyButtonSchema,
    ownerOnly: false,
    sameChatOnly: true,
  });
}

const CALLBACK = new RegExp(`^b:([A-Za-z0-9_-]{1,32})(?::(${BUTTON_ACTIONS.join('|')}))?$`);

/** `b:<row id>:<action>`: far under the 64-byte callback_data limit. */
export function callbackData(rowId: string, action: ButtonAction): string {
  return `b:${rowId}:${action}`;
}

/** The row and action behind `callback_data`; an old button (`b:<id>`) names no action (its row holds one). */
export function parseCallbackData(data: string): { rowId: string; action?: ButtonAction } | undefined {
  const match = CALLBACK.exec(data);
  if (!match?.[1]) return undefined;
  return match[2] === undefined ? { rowId: match[1] } : { rowId: match[1], action: match[2] as ButtonAction };
}
