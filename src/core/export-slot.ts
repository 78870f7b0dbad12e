import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';

/** Who holds a project's export slot: the render job's id and when it was claimed; `raw` as stored. */
export interface SlotHolder {
  renderId: string;
  claimedAt: number;
  raw: string;
}

export type ClaimResult = { ok: true } | { ok: false; holder: SlotHolder };

const HolderSchema = z.object({ renderId: z.string(), claimedAt: z.number() });

const CLAIM = `
-- KEYS[1] the project's export slot; ARGV[1] the holder JSON; ARGV[2] its render id; ARGV[3] TTL in ms
-- Returns '' when the caller holds the slot now (a resent or re-handled claim of the same render
-- included), else the holder's JSON.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then
  return ''
end
local holder = redis.call('GET', KEYS[1])
if not holder then
  return ''
end
local ok, decoded = pcall(cjson.decode, holder)
if ok and type(decoded) == 'table' and decoded.renderId == ARGV[2] then
  return ''
end
return holder
`;

const REPLACE = `
-- KEYS[1] the project's export slot; ARGV[1] the stale holder JSON; ARGV[2] the new holder JSON; ARGV[3] TTL in ms
-- Takes the slot over only from the holder the caller found stale: of several callers, one wins.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`;

const RELEASE = `
-- KEYS[1] the project's export slot; ARGV[1] the render id that holds it
local holder = redis.call('GET', KEYS[1])
if not holder then
  return 0
end
local ok, decoded = pcall(cjson.decode, holder)
if ok and type(decoded) == 'table' and decoded.renderId == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

// The slot outlives any render (polls, retries, delivery); a finished render frees it earlier, as
// the engine sees its job done. Only a bound, so a lost key cannot block a project for long.
const SLOT_TTL_MS = 6 * 3600 * 1000;

/**
 * One render in flight per project, shared by every bot replica: an export claims the project's
 * slot before any work, and a second export finds the first one's render instead of queueing another.
 */
export class ExportSlot {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
  ) {}

  async claim(sessionId: string, renderId: string, now = Date.now()): Promise<ClaimResult> {
    const raw = String(await this.redis.eval(CLAIM, 1, this.key(sessionId), holderJson(renderId, now), renderId, SLOT_TTL_MS));
    if (raw === '') return { ok: true };
    // An unreadable holder names no render and is old: whoever finds it takes the slot over.
    return { ok: false, holder: { ...(parseHolder(raw) ?? { renderId: '', claimedAt: 0 }), raw } };
  }

  /** Takes the slot from `stale` (its render is over); false when someone else took it first. */
  async takeOver(sessionId: string, stale: SlotHolder, renderId: string, now = Date.now()): Promise<boolean> {
    return Number(await this.redis.eval(REPLACE, 1, this.key(sessionId), stale.raw, holderJson(renderId, now), SLOT_TTL_MS)) === 1;
  }

  /** Frees the slot if `renderId` holds it (an export that queued nothing). */
  async release(sessionId: string, renderId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(sessionId), renderId);
  }

  private key(sessionId: string): string {
    return this.keys.exportSlot(sessionId);
  }
}

function holderJson(renderId: string, claimedAt: number): string {
  return JSON.stringify({ renderId, claimedAt });
}

function parseHolder(raw: string): { renderId: string; claimedAt: number } | undefined {
  try {
    const result = HolderSchema.safeParse(JSON.parse(raw));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
