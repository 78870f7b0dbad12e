import type { Redis } from 'ioredis';
import { z } from 'zod';
import { MESSAGE_MAP_WRITE } from '../lib/lua/message-map-write.js';
import { runScript } from '../lib/lua/script.js';
import { parseStored } from '../lib/stored-json.js';
import type { RedisKeys } from './redis-keys.js';
import { PROJECT_REF_CHARS, ProjectRefSchema } from './project-ref.js';
import type { Platform } from './types.js';

/** Whose project a posted message belongs to. */
export interface MessageOwner {
  userId: string;
  /** The project's reference (`projectRef`). */
  projectRef: string;
}

/**
 * Messages remembered per chat, the newest kept. 64: a private chat's last 30 or so turns, a
 * busy group's last few screens (older projects are one /projects away), under listpack's 128.
 */
export const MESSAGE_MAP_CAP = 64;

/**
 * A map entry's value: the project ref, then the owner's id unless they are the map's usual
 * owner (its first, under the field ''; a private chat's only one): 8 bytes then, and under
 * listpack's 64-byte value threshold always (a ref and a 20-digit id).
 */
const StoredEntrySchema = z
  .string()
  .regex(new RegExp(`^[A-Za-z0-9_-]{${PROJECT_REF_CHARS}}`))
  .transform((value) => ({ projectRef: value.slice(0, PROJECT_REF_CHARS), userId: value.slice(PROJECT_REF_CHARS) }));

/** The map's usual owner. */
const UsualOwnerSchema = z.string().min(1);

/** The former per-message key's JSON, read until those keys expire. */
const LegacySchema = z.object({ u: z.string(), p: ProjectRefSchema });

/**
 * Which project each message the bot posted belongs to, so a reply to it (the video, an answer,
 * a progress line) continues that project. Written when the platform confirmed the post (its
 * message id is known); holds ids only, never the message's text. One hash per chat, the newest
 * `MESSAGE_MAP_CAP` messages kept (`src/lib/lua/message-map-write.ts`), for a session TTL after
 * the chat's last post.
 */
export class MessageProjects {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** Notes `messageId`'s owner; a message older than every one of a full map is not kept. */
  async remember(where: { platform: Platform; chatId: string }, messageId: string, owner: MessageOwner): Promise<void> {
    // A ref of another length would move where the owner's id starts; '' is the usual owner's field.
    const ref = ProjectRefSchema.parse(owner.projectRef);
    const userId = UsualOwnerSchema.parse(owner.userId);
    if (messageId === '') return;
    const map = this.keys.messageMap(where.platform, where.chatId);
    await runScript(this.redis, MESSAGE_MAP_WRITE, [map], [messageId, ref, userId, MESSAGE_MAP_CAP, this.ttlSeconds]);
  }

  /** The project `messageId` was posted for, or undefined when it is not one of ours (or trimmed, or expired). */
  async lookup(where: { platform: Platform; chatId: string }, messageId: string): Promise<MessageOwner | undefined> {
    if (messageId === '') return undefined;
    const [raw, usual] = await this.redis.hmget(this.keys.messageMap(where.platform, where.chatId), messageId, '');
    if (raw !== null && raw !== undefined) {
      const entry = StoredEntrySchema.safeParse(raw);
      if (!entry.success) return undefined;
      const { projectRef, userId } = entry.data;
      if (userId !== '') return { projectRef, userId };
      const usualOwner = UsualOwnerSchema.safeParse(usual);
      return usualOwner.success ? { projectRef, userId: usualOwner.data } : undefined;
    }
    // Posted before the map: its own key, until it expires (a session TTL after the upgrade).
    const legacy = parseStored(await this.redis.get(this.keys.messageProject(where.platform, where.chatId, messageId)), LegacySchema);
    return legacy ? { userId: legacy.u, projectRef: legacy.p } : undefined;
  }
}
