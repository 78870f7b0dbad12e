import type { Redis } from 'ioredis';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { ButtonStore, type ButtonAction } from '../../src/core/button-store.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';

export interface DiscordButtonOptions {
  /** A row of buttons works this long; default 30 days, like a session. */
  ttlSeconds?: number;
}

/** Discord's buttons: only the person the row was posted for may press them (README). */
export function discordButtonStore(redis: Redis, keys: RedisKeys = createRedisKeys(), options: DiscordButtonOptions = {}): ButtonStore {
  return new ButtonStore(redis, keys, {
    platform: 'discord',
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    ownerOnly: true,
    sameChatOnly: false,
  });
}

const CUSTOM_ID = new RegExp(`^nvb:([A-Za-z0-9_-]{16}):(${BUTTON_ACTIONS.join('|')})$`);

/** `nvb:<row id>:<action>`: well under Discord's 100 characters. */
export function buttonCustomId(rowId: string, action: ButtonAction): string {
  return `nvb:${rowId}:${action}`;
}

export function parseButtonCustomId(customId: string): { rowId: string; action: ButtonAction } | undefined {
  const match = CUSTOM_ID.exec(customId);
  if (!match) return undefined;
  return { rowId: match[1] ?? '', action: (match[2] ?? 'status') as ButtonAction };
}
