import type { Redis } from 'ioredis';
import { parseStored } from '../lib/stored-json.js';
import { z } from 'zod';
import type { RedisKeys } from './redis-keys.js';
import { ProjectRefSchema } from './project-ref.js';
import type { Platform } from './types.js';

/** Whose project a posted message belongs to. */
export interface MessageOwner {
  userId: string;
  /** The project's reference (`projectRef`). */
  projectRef: string;
}

const StoredSchema = z.object({ u: z.string(), p: ProjectRefSchema });

/**
 * Which project each message the bot posted belongs to, so a reply to it (the video, an answer,
 * a progress line) continues that project. Written when the platform confirmed the post (its
 * message id is known); holds ids only, never the message's text; lives as long as a project.
 */
export class MessageProjects {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {}

  async remember(where: { platform: Platform; chatId: string }, messageId: string, owner: MessageOwner): Promise<void> {
    const value = JSON.stringify({ u: owner.userId, p: owner.projectRef });
    await this.redis.set(this.keys.messageProject(where.platform, where.chatId, messageId), value, 'EX', this.ttlSeconds);
  }

  /** The project `messageId` was posted for, or undefined when it is not one of ours (or expired). */
  async lookup(where: { platform: Platform; chatId: string }, messageId: string): Promise<MessageOwner | undefined> {
    const stored = parseStored(await this.redis.get(this.keys.messageProject(where.platform, where.chatId, messageId)), StoredSchema);
    return stored ? { userId: stored.u, projectRef: stored.p } : undefined;
  }
}
