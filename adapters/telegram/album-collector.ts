import type { Redis } from 'ioredis';
import { z } from 'zod';
import { entryPayload, LIST_ENTRY_LUA, withoutLoginTokens, type Inbox } from '../../src/core/inbox.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import type { NormalizedMessage } from './normalize.js';

export interface AlbumCollectorOptions {
  redis: Redis;
  /** The key map; default the `nvb` one. */
  keys?: RedisKeys;
  /** An album is complete when no part arrived for this long. */
  quietMs: number;
  /**
   * Gets each album once, with its parts in any order (see `mergeAlbum`), and its inbox id: the
   * parts are moved into the inbox as they are taken, so a kill loses none.
   */
  onAlbum(parts: NormalizedMessage[], inboxId: string): void;
  onError(error: unknown): void;
  inbox: Pick<Inbox, 'ownerId'>;
}

const TAKE = `
-- KEYS[1] the album's parts (a list of JSON messages)
-- KEYS[2] the "still arriving" marker, set with a PX of the quiet time at every part
-- KEYS[3] the inbox
-- KEYS[4] the album index (sorted set): the album leaves it once taken, or found gone
-- KEYS[5] the inbox index: the album's entry joins it with the entry
-- ARGV[1] the album's inbox id; ARGV[2] the taker's owner id; ARGV[3] the album's id in the index; ARGV[4] now in ms
-- Returns {ms} while parts are still arriving (ms until the marker lapses), else {-1, part...}
-- and deletes the parts, so exactly one caller gets them. The parts move into the inbox under
-- the taker, in the same step; a resent call (its answer lost) finds them there.
${LIST_ENTRY_LUA}
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then return {ttl} end
local parts = redis.call('LRANGE', KEYS[1], 0, -1)
local head = inbox_list_head(ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[3])
if #parts == 0 then
  local kept = redis.call('HGET', KEYS[3], ARGV[1])
  if kept and string.sub(kept, 1, #head) == head then return {-2, kept} end
  return {-1}
end
redis.call('HSET', KEYS[3], ARGV[1], inbox_list_entry(ARGV[2], parts))
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
redis.call('DEL', KEYS[1])
table.insert(parts, 1, -1)
return parts
`;

// Parts of an album never gathered (every replica died) are forgotten after this.
const PARTS_TTL_MS = 10 * 60_000;

const FileRefSchema = z.object({
  kind: z.enum(['document', 'video', 'video_note', 'animation', 'photo', 'audio', 'voice']),
  fileId: z.string(),
  uniqueId: z.string(),
  name: z.string(),
  mimeType: z.string(),
  size: z.number().optional(),
});

/** How long an album must have been quiet before a sweep takes it (its own process's timer fires long before). */
const ABANDONED_AFTER_MS = 20_000;

// Albums taken up per sweep: the rest wait for the next one.
const SWEEP_BATCH = 200;

/** A normalized Telegram message as kept in Redis (album parts, inbox entries). */
export const PartSchema = z.object({
  messageId: z.number(),
  chatId: z.string(),
  chatKind: z.enum(['private', 'group']),
  userId: z.string(),
  threadId: z.string().optional(),
  language: z.string().optional(),
  text: z.string(),
  files: z.array(FileRefSchema),
  addressed: z.boolean(),
  mediaGroupId: z.string().optional(),
  replyToMessageId: z.string().optional(),
  forProject: z.string().optional(),
});

/** Telegram messages read back from Redis (album parts, kept messages), validated; those that do not validate are left out. */
export function parseAlbumParts(raw: readonly unknown[]): NormalizedMessage[] {
  const parts: NormalizedMessage[] = [];
  for (const item of raw) {
    const parsed = PartSchema.safeParse(item);
    if (parsed.success) parts.push(parsed.data as NormalizedMessage);
  }
  return parts;
}

/** The inbox ids of albums start with this (after the adapter's own `telegram:`). */
export const ALBUM_INBOX_PREFIX = 'telegram:album:';

/**
 * Gathers the messages of one album (`media_group_id`) into one. Parts wait in Redis, so
 * with webhooks on several replicas the parts may land on different processes: whichever
 * checks first once the album has been quiet for `quietMs` takes all parts, atomically. An
 * album whose process died before taking it is found by `sweep`.
 */
export class AlbumCollector {
  private readonly keyMap: RedisKeys;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly checks = new Set<Promise<void>>();

  constructor(private readonly options: AlbumCollectorOptions) {
    this.keyMap = options.keys ?? createRedisKeys();
  }

  async add(part: NormalizedMessage): Promise<void> {
    const keys = this.keys(part);
    await this.options.redis
      .multi()
      // A caption never logs in (an album is an upload), and a token in one is not kept.
      .rpush(keys.parts, JSON.stringify(withoutLoginTokens(part)))
      .pexpire(keys.parts, PARTS_TTL_MS)
      .set(keys.marker, '1', 'PX', this.options.quietMs)
      // Found by another process's sweep once abandoned; no keyspace walk.
      .zadd(this.keyMap.telegramAlbumIndexOf(keys.parts), Date.now() + ABANDONED_AFTER_MS, this.keyMap.telegramAlbumId(keys.parts))
      .exec();
    this.schedule(keys, this.options.quietMs);
  }

  /** Takes every album this process is waiting for now, quiet or not (at shutdown). */
  async flush(): Promise<void> {
    const pending = [...this.timers.keys()];
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.checks]);
    for (const parts of pending) {
      await this.options.redis.del(this.keyMap.telegramAlbumArriving(parts));
      await this.check({ parts, marker: this.keyMap.telegramAlbumArriving(parts) });
    }
  }

  /**
   * Takes the albums whose process died before it took them: quiet for `ABANDONED_AFTER_MS`.
   * Reads the album indexes (one, or one per bucket on a cluster) for what is due, never the keyspace.
   */
  async sweep(now = Date.now()): Promise<void> {
    const indexes = this.keyMap.telegramAlbumIndexes();
    const dues = await Promise.all(indexes.map((index) => this.options.redis.zrangebyscore(index, '-inf', now, 'LIMIT', 0, SWEEP_BATCH)));
    for (const due of dues) {
      for (const id of due) {
        const parts = this.keyMap.telegramAlbumOf(id);
        if (this.timers.has(parts)) continue;
        await this.check({ parts, marker: this.keyMap.telegramAlbumArriving(parts) });
      }
    }
  }

  private keys(part: NormalizedMessage): { parts: string; marker: string } {
    const parts = this.keyMap.telegramAlbum(part.chatId, part.mediaGroupId ?? part.messageId, part.userId);
    return { parts, marker: this.keyMap.telegramAlbumArriving(parts) };
  }

  private schedule(keys: { parts: string; marker: string }, ms: number): void {
    if (this.timers.has(keys.parts)) return;
    const timer = setTimeout(() => {
      this.timers.delete(keys.parts);
      const check = this.check(keys).catch((error: unknown) => this.options.onError(error));
      this.checks.add(check);
      void check.finally(() => this.checks.delete(check));
    }, ms + 5);
    this.timers.set(keys.parts, timer);
  }

  private async check(keys: { parts: string; marker: string }): Promise<void> {
    const inboxId = `${ALBUM_INBOX_PREFIX}${this.keyMap.telegramAlbumId(keys.parts)}`;
    const answer = (await this.options.redis.eval(
      TAKE,
      5,
      keys.parts,
      keys.marker,
      this.keyMap.inboxOf(inboxId),
      this.keyMap.telegramAlbumIndexOf(keys.parts),
      this.keyMap.inboxIndexOf(this.keyMap.inboxOf(inboxId)),
      inboxId,
      this.options.inbox.ownerId,
      this.keyMap.telegramAlbumId(keys.parts),
      Date.now(),
    )) as Array<number | string>;
    const [head, ...raw] = answer;
    if (typeof head === 'number' && head >= 0) {
      this.schedule(keys, head);
      return;
    }
    const items = head === -2 ? keptParts(String(raw[0])) : raw.map((item) => safeJson(String(item)));
    const parts = parseAlbumParts(items);
    if (parts.length > 0) this.options.onAlbum(parts, inboxId);
  }
}

function keptParts(entry: string): unknown[] {
  const payload = entryPayload(entry);
  return Array.isArray(payload) ? payload : [];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
