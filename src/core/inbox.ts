import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';
import { route } from './router.js';
import type { TokenCipher } from './token-cipher.js';

/** The Redis hash of received messages not yet safe elsewhere (journaled, queued or answered). */
export function inboxKey(prefix: string): string {
  return createRedisKeys(prefix).inbox();
}

/**
 * Lua that releases an entry inside another script's atomic step (a turn queued or journaled is
 * durable, so its message leaves the inbox, and the inbox index, in that same step, with no extra
 * round trip). `key`, `index` and `id` are Lua expressions (such as `KEYS[3]`, `ARGV[5]`) naming
 * the inbox, its index and the entry id, '' for none.
 */
export function releaseInScript(key: string, index: string, id: string): string {
  return `if ${id} ~= '' then\n  redis.call('HDEL', ${key}, ${id})\n  redis.call('ZREM', ${index}, ${id})\nend`;
}

/**
 * Lua that defines `inbox_list_head(owner)` and `inbox_list_entry(owner, items)`: the entry a script
 * writes itself for a payload that is a JSON array of already-encoded `items` (album parts), in
 * the unsealed form `parse` reads. The head lets a script recognise an entry it wrote before.
 */
export const LIST_ENTRY_LUA = `
local function inbox_list_head(owner)
  return '{"owner":"' .. owner .. '","payload":['
end
local function inbox_list_entry(owner, items)
  return inbox_list_head(owner) .. table.concat(items, ',') .. ']}'
end
`;

/** The payload of an entry as stored (unsealed), or undefined when it is no entry. */
export function entryPayload(raw: string): unknown {
  try {
    return (JSON.parse(raw) as { payload?: unknown } | null)?.payload;
  } catch {
    return undefined;
  }
}

export interface InboxEntry {
  id: string;
  payload: unknown;
}

// A process proves it is alive this often; a silent one's messages are taken over after the TTL.
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TTL_SECONDS = 30;

// A client resends a command whose answer a Redis restart cut off, so each script recognises its
// own first run by a nonce and answers the same again: a resent SET NX must not read "seen".
const ADMIT = `
-- KEYS[1] the update's seen mark; KEYS[2] the inbox; KEYS[3] the inbox index (sorted set: id by admission time)
-- ARGV[1] this call's nonce; ARGV[2] mark TTL in s; ARGV[3] inbox id or ''; ARGV[4] the entry; ARGV[5] now in ms
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
end
return 1
`;

// Entries looked at per sweep, in pages: the sweep reads the index, never the whole inbox.
const SWEEP_PAGE = 200;
const SWEEP_PAGES = 10;

const CLAIM = `
-- KEYS[1] the inbox; ARGV[1] id; ARGV[2] the entry as the dead owner left it; ARGV[3] the entry under the new owner
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
if current == ARGV[3] then
  return 1
end
return 0
`;

/**
 * Messages a platform confirmed to us but the engine has not yet made durable: a process
 * killed in between would lose them. Each entry names its owner process; a live owner keeps a
 * heartbeat, and entries of a dead one are taken over and handled again by another process.
 */
export class Inbox {
  readonly ownerId = randomUUID();
  private timer: NodeJS.Timeout | undefined;

  /**
   * With `cipher` every entry is sealed whole (a `/login <token>` or an interaction token never
   * reaches Redis, nor its append-only file, in clear). Without one, `/login` is off anyway, so
   * its argument is dropped before the entry is written: a takeover still answers it the same.
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    private readonly cipher?: TokenCipher,
  ) {}

  /** Starts proving this process alive; call before `admit`. */
  async start(): Promise<void> {
    await this.beat();
    await this.indexLeftovers();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * True the first time any process sees `seenKey` (a platform's update id); then, in the same
   * script, keeps `message` when given: a kill cannot fall between "seen" and "kept".
   */
  async admit(seenKey: string, ttlSeconds: number, message?: { id: string; payload: unknown }): Promise<boolean> {
    // On a cluster the mark goes into the entry's slot (the id names it): one script writes both.
    const seen = message ? this.keys.seenWith(seenKey, message.id) : seenKey;
    const inbox = message ? this.keys.inboxOf(message.id) : undefined;
    const admitted = await this.redis.eval(
      ADMIT,
      3,
      seen,
      inbox ?? seen,
      inbox ? this.keys.inboxIndexOf(inbox) : seen,
      randomUUID(),
      ttlSeconds,
      message?.id ?? '',
      message ? this.entry(message.payload) : '',
      Date.now(),
    );
    return Number(admitted) === 1;
  }

  /** The entry and its place in the index go in one step. */
  async release(id: string): Promise<void> {
    const inbox = this.keys.inboxOf(id);
    await this.redis.multi().hdel(inbox, id).zrem(this.keys.inboxIndexOf(inbox), id).exec();
  }

  /** The id to keep a person's message under (on a cluster it names the person's slot). */
  entryId(id: string, platform: string, userId: string): string {
    return this.keys.inboxEntryId(id, platform, userId);
  }

  /**
   * Takes over the entries (ids starting with `idPrefix`) whose owner is dead: each becomes this
   * process's own, so a second crash does not lose it either. Of several processes sweeping at
   * once, one gets each. Reads the inbox index in pages, oldest first, never the whole hash
   * or the keyspace; a live owner's entry older than a heartbeat's life moves to the back.
   */
  async claimOrphans(idPrefix: string): Promise<InboxEntry[]> {
    const claimed: InboxEntry[] = [];
    const alive = new Map<string, boolean>();
    // One inbox, or one per bucket on a cluster (a bounded number), each with its index.
    for (const inbox of this.keys.inboxes()) {
      const index = this.keys.inboxIndexOf(inbox);
      const now = Date.now();
      for (let page = 0; page < SWEEP_PAGES; page++) {
        const ids = await this.redis.zrangebyscore(index, '-inf', '+inf', 'WITHSCORES', 'LIMIT', page * SWEEP_PAGE, SWEEP_PAGE);
        if (ids.length === 0) break;
        const members: Array<{ id: string; since: number }> = [];
        for (let i = 0; i < ids.length; i += 2) members.push({ id: ids[i] as string, since: Number(ids[i + 1]) });
        const raws = await this.redis.hmget(inbox, ...members.map((member) => member.id));
        for (const [at, { id, since }] of members.entries()) {
          const raw = raws[at];
          // Released meanwhile (its index entry went in the same step); a leftover is dropped.
          if (raw === null || raw === undefined) {
            await this.redis.zrem(index, id);
            continue;
          }
          if (!id.startsWith(idPrefix)) continue;
          const entry = parse(raw, this.cipher);
          // This process's own entries are being handled right now.
          if (entry?.owner === this.ownerId) continue;
          if (entry) {
            let live = alive.get(entry.owner);
            if (live === undefined) {
              live = (await this.redis.exists(this.heartbeatKey(entry.owner))) === 1;
              alive.set(entry.owner, live);
            }
            if (live) {
              // A long-lived entry of a live owner is looked at again once that owner could have lapsed.
              if (since < now - HEARTBEAT_TTL_SECONDS * 1000) await this.redis.zadd(index, 'XX', now, id);
              continue;
            }
          }
          if (!entry || !entry.readable) {
            await this.release(id);
            continue;
          }
          const mine = this.entry(entry.payload);
          if (Number(await this.redis.eval(CLAIM, 1, inbox, id, raw, mine)) === 1) claimed.push({ id, payload: entry.payload });
        }
        if (ids.length < SWEEP_PAGE * 2) break;
      }
    }
    return claimed;
  }

  /**
   * Indexes entries kept before the inbox had an index (an upgrade), so the sweep finds them;
   * HLEN and ZCARD are O(1), so nothing more is read when the two agree.
   */
  private async indexLeftovers(): Promise<void> {
    for (const inbox of this.keys.inboxes()) {
      const index = this.keys.inboxIndexOf(inbox);
      const [entries, indexed] = await Promise.all([this.redis.hlen(inbox), this.redis.zcard(index)]);
      if (entries <= indexed) continue;
      const ids = await this.redis.hkeys(inbox);
      if (ids.length > 0) await this.redis.zadd(index, 'NX', ...ids.flatMap((id) => [0, id]));
    }
  }

  private entry(payload: unknown): string {
    if (this.cipher) return JSON.stringify({ owner: this.ownerId, sealed: this.cipher.encrypt(JSON.stringify(payload)) });
    return JSON.stringify({ owner: this.ownerId, payload: withoutLoginTokens(payload) });
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.heartbeatKey(this.ownerId), '1', 'EX', HEARTBEAT_TTL_SECONDS);
  }

  private heartbeatKey(owner: string): string {
    return this.keys.alive(owner);
  }
}

/** An entry sealed with another key (or none now) cannot be handled: once its owner is dead it is dropped. */
function parse(raw: string, cipher: TokenCipher | undefined): { owner: string; payload: unknown; readable: boolean } | undefined {
  let value: { owner?: unknown; payload?: unknown; sealed?: unknown };
  try {
    value = JSON.parse(raw) as typeof value;
  } catch {
    return undefined;
  }
  if (typeof value.owner !== 'string') return undefined;
  if (typeof value.sealed !== 'string') return { owner: value.owner, payload: value.payload, readable: true };
  try {
    if (!cipher) throw new Error('no key');
    return { owner: value.owner, payload: JSON.parse(cipher.decrypt(value.sealed)) as unknown, readable: true };
  } catch {
    return { owner: value.owner, payload: undefined, readable: false };
  }
}

/** Every `text` field that the router would read as `/login …`, cut down to the bare command. */
export function withoutLoginTokens(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLoginTokens);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    copy[name] = name === 'text' && typeof field === 'string' && route(field, false).action === 'login' ? '/login' : withoutLoginTokens(field);
  }
  return copy;
}
