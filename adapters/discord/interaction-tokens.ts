import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import type { TokenCipher } from '../../src/core/token-cipher.js';
import type { ChatAddress } from '../../src/core/types.js';
import { discordExtra, liveInteraction, type LiveInteraction } from './address.js';

export interface InteractionTokensOptions {
  /** Shared across processes (the render worker answers through the interaction too); absent: this process only. */
  redis?: Redis | undefined;
  /** The key map; default the `nvb` one. */
  keys?: RedisKeys;
  /** Seals the token in Redis; without it the token is kept in clear for its short life. */
  cipher?: TokenCipher | undefined;
  now?: () => number;
}

const StoredSchema = z.object({ token: z.string().min(1) });

// Past this many, tokens of this process that expired are pruned from memory.
const MAX_LOCAL = 10_000;

/**
 * Interaction tokens live only here: a Redis key that expires with the token (Discord gives 15
 * minutes) plus this process's memory. Addresses, and so the inbox, queued turns, the turn
 * journal and render jobs, carry only the interaction's id, never the token.
 */
export class InteractionTokens {
  private readonly local = new Map<string, LiveInteraction>();
  private readonly now: () => number;

  constructor(private readonly options: InteractionTokensOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async keep(live: LiveInteraction): Promise<void> {
    const lifeMs = live.expiresAt - this.now();
    if (lifeMs <= 0) return;
    if (this.local.size >= MAX_LOCAL) this.prune();
    this.local.set(live.id, live);
    const { redis, cipher } = this.options;
    if (!redis) return;
    const token = cipher ? cipher.encrypt(live.token) : live.token;
    await redis.set(this.key(live.id), JSON.stringify({ token }), 'PX', lifeMs);
  }

  /** The interaction to answer through while its token lives (in any process), else undefined. */
  async find(address: ChatAddress): Promise<LiveInteraction | undefined> {
    const now = this.now();
    // Addresses written by earlier versions carry the token itself.
    const inline = liveInteraction(address, now);
    if (inline) return inline;
    const { interactionId, interactionExpiresAt, applicationId } = discordExtra(address);
    if (interactionId === undefined || interactionExpiresAt === undefined || applicationId === undefined || now >= interactionExpiresAt) return undefined;
    const known = this.local.get(interactionId);
    if (known) return known;
    const raw = this.options.redis ? await this.options.redis.get(this.key(interactionId)) : null;
    if (raw === null) return undefined;
    const token = this.open(raw);
    return token === undefined ? undefined : { id: interactionId, applicationId, token, expiresAt: interactionExpiresAt };
  }

  private open(raw: string): string | undefined {
    try {
      const parsed = StoredSchema.safeParse(JSON.parse(raw));
      if (!parsed.success) return undefined;
      const { cipher } = this.options;
      return cipher ? cipher.decrypt(parsed.data.token) : parsed.data.token;
    } catch {
      // Sealed with another key: answered in the channel instead.
      return undefined;
    }
  }

  private prune(): void {
    const now = this.now();
    for (const [id, live] of this.local) if (live.expiresAt <= now) this.local.delete(id);
  }

  private key(id: string): string {
    return (this.options.keys ?? createRedisKeys()).discordInteractionToken(id);
  }
}
