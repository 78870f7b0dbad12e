import type { Redis } from 'ioredis';

/** A Lua script: its text, with the header block naming KEYS, ARGV and the result, and how many keys it takes. */
export interface LuaScript {
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
}

export function luaScript(name: string, keys: number, lua: string): LuaScript {
  return { name, keys, lua };
}

/**
 * Runs `script` in one round trip. EVAL with the text rather than EVALSHA: Redis caches the
 * script by its hash either way, and a call resent after a Redis restart (an empty script
 * cache) still runs at once instead of failing with NOSCRIPT and costing a second trip.
 */
export function runScript(redis: Redis, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  if (keys.length !== script.keys) throw new Error(`the ${script.name} script takes ${script.keys} keys, got ${keys.length}`);
  return redis.eval(script.lua, keys.length, ...keys, ...args);
}
