import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { ButtonStore, type ButtonRecord, type LegacyButtonRef, type ProjectLookup } from '../../src/core/button-store.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import { SessionStore } from '../../src/core/session-store.js';

/** Telegram holds at most 64 bytes of callback_data. */
export const CALLBACK_DATA_MAX_BYTES = 64;

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

const LEGACY_CALLBACK = new RegExp(`^b:([A-Za-z0-9_-]{1,32})(?::(${BUTTON_ACTIONS.join('|')}))?$`);

/** `b:<row id>:<action>` (or `b:<id>`, one key per button) of buttons posted by older versions. */
export function parseLegacyCallbackData(data: string): LegacyButtonRef | undefined {
  const match = LEGACY_CALLBACK.exec(data);
  if (!match?.[1]) return undefined;
  return match[2] === undefined ? { rowId: match[1] } : { rowId: match[1], action: match[2] as LegacyButtonRef['action'] & string };
}

/**
 * Telegram's buttons: `p:<action>:<owner>:<ref>[:<topic>]` in callback_data. Only the person
 * they were posted for may press them, only in the chat they were posted in (README).
 */
export function telegramButtonStore(redis: Redis, keys: RedisKeys = createRedisKeys(), projects: ProjectLookup = new SessionStore(redis, keys)): ButtonStore {
  return new ButtonStore(redis, keys, {
    platform: 'telegram',
    scheme: 'p',
    maxDataBytes: CALLBACK_DATA_MAX_BYTES,
    projects,
    legacyData: parseLegacyCallbackData,
    legacyRecord: LegacyButtonSchema,
  });
}
