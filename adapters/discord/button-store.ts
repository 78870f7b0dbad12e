import type { Redis } from 'ioredis';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { ButtonStore, type LegacyButtonRef, type ProjectLookup } from '../../src/core/button-store.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import { SessionStore } from '../../src/core/session-store.js';

/** Discord holds at most 100 characters of custom_id (our data is ASCII: bytes are characters). */
export const CUSTOM_ID_MAX_CHARS = 100;

const LEGACY_CUSTOM_ID = new RegExp(`^nvb:([A-Za-z0-9_-]{16}):(${BUTTON_ACTIONS.join('|')})$`);

/** `nvb:<row id>:<action>` of buttons posted by older versions. */
export function parseLegacyCustomId(customId: string): LegacyButtonRef | undefined {
  const match = LEGACY_CUSTOM_ID.exec(customId);
  if (!match?.[1] || !match[2]) return undefined;
  return { rowId: match[1], action: match[2] as NonNullable<LegacyButtonRef['action']> };
}

/**
 * Discord's buttons: `nvp:<action>:<owner>:<ref>` in custom_id. Only the person they were posted
 * for may press them, only in the channel they were posted in (README).
 */
export function discordButtonStore(redis: Redis, keys: RedisKeys = createRedisKeys(), projects: ProjectLookup = new SessionStore(redis, keys)): ButtonStore {
  return new ButtonStore(redis, keys, {
    platform: 'discord',
    scheme: 'nvp',
    maxDataBytes: CUSTOM_ID_MAX_CHARS,
    projects,
    legacyData: parseLegacyCustomId,
  });
}
