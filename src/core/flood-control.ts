import type { Redis } from 'ioredis';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';
import type { Platform } from './types.js';

/** `ok`: go on; `tripped`: over the limit for the first time this window (say so once); `silent`: over it again. */
export type RateVerdict = 'ok' | 'tripped' | 'silent';

/** One person's message counter for the current window, for a script that checks it in passing. */
export interface RateCheck {
  key: string;
  limit: number;
  /** The counter's life: its window, plus a margin for clocks a little apart. */
  ttlMs: number;
}

export interface FloodControlOptions {
  /** Messages one person may send per window (all chats together). */
  messagesPerWindow: number;
  /** Default one minute. */
  windowMs?: number;
  /** Wall clock; tests move it to the next window instead of waiting. */
  now?: () => number;
}

/**
 * The Lua of one rate step, shared by the scripts that check the rate on their way (ENTER) so a
 * chat turn pays no extra round trip: 0 within the limit, 1 the first message over it, 2 later ones.
 * A fixed window: a burst at a window's edge may reach twice the limit, which still bounds a flood.
 */
export const RATE_STEP_LUA = `
local function rate_step(key, limit, ttl)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ttl) end
  if n <= limit then return 0 end
  if n == limit + 1 then return 1 end
  return 2
end
`;

const TAKE = `${RATE_STEP_LUA}
-- KEYS[1] the person's counter for this window; ARGV[1] limit; ARGV[2] counter TTL in ms
return rate_step(KEYS[1], tonumber(ARGV[1]), ARGV[2])
`;

const WINDOW_MARGIN_MS = 5_000;

/**
 * Per-person message rate in Redis, so every bot replica counts against one limit. A message
 * over the limit is refused before any work: the first gets one notice, the rest silence until
 * the window turns.
 */
export class FloodControl {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: FloodControlOptions,
  ) {
    this.limit = options.messagesPerWindow;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The counter a message of this person counts against now. */
  rateCheck(platform: Platform, userId: string): RateCheck {
    const window = Math.floor(this.now() / this.windowMs);
    return { key: this.keys.floodRate(window, platform, userId), limit: this.limit, ttlMs: this.windowMs + WINDOW_MARGIN_MS };
  }

  /** Counts one message: one round trip. */
  async take(platform: Platform, userId: string): Promise<RateVerdict> {
    const check = this.rateCheck(platform, userId);
    return rateVerdict(await this.redis.eval(TAKE, 1, check.key, check.limit, check.ttlMs));
  }
}

/** A rate step's number as a verdict. */
export function rateVerdict(step: unknown): RateVerdict {
  const n = Number(step);
  return n === 0 ? 'ok' : n === 1 ? 'tripped' : 'silent';
}
