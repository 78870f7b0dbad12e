import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { NormalizedMessage } from './normalize.js';

export interface AlbumCollectorOptions {
  redis: Redis;
  /** Key prefix; default `nvb`. */
  prefix?: string;
  /** An album is complete when no part arrived for this long. */
  quietMs: number;
  /** Gets each album once, with its parts in any order (see `mergeAlbum`). */
  onAlbum(parts: NormalizedMessage[]): void;
  onError(error: unknown): void;
}

const TAKE = `
-- KEYS[1] the album's parts (a list of JSON messages)
-- KEYS[2] the "still arriving" marker, set with a PX of the quiet time at every part
-- Returns {ms} while parts are still arriving (ms until the marker lapses), else {-1, part...}
-- and deletes the parts, so exactly one caller gets them.
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then return {ttl} end
local parts = redis.call('LRANGE', KEYS[1], 0, -1)
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

const PartSchema = z.object({
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
});

/**
 * Gathers the messages of one album (`media_group_id`) into one. Parts wait in Redis, so
 * with webhooks on several replicas the parts may land on different processes: whichever
 * checks first once the album has been quiet for `quietMs` takes all parts, atomically.
 */
export class AlbumCollector {
  private readonly prefix: string;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly checks = new Set<Promise<void>>();

  constructor(private readonly options: AlbumCollectorOptions) {
    this.prefix = options.prefix ?? 'nvb';
  }

  async add(part: NormalizedMessage): Promise<void> {
    const keys = this.keys(part);
    await this.options.redis
      .multi()
      .rpush(keys.parts, JSON.stringify(part))
      .pexpire(keys.parts, PARTS_TTL_MS)
      .set(keys.marker, '1', 'PX', this.options.quietMs)
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
      await this.options.redis.del(`${parts}:arriving`);
      await this.check({ parts, marker: `${parts}:arriving` });
    }
  }

  private keys(part: NormalizedMessage): { parts: string; marker: string } {
    const parts = `${this.prefix}:tg:album:${part.chatId}:${part.mediaGroupId ?? part.messageId}`;
    return { parts, marker: `${parts}:arriving` };
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
    const answer = (await this.options.redis.eval(TAKE, 2, keys.parts, keys.marker)) as Array<number | string>;
    const [head, ...raw] = answer;
    if (typeof head === 'number' && head >= 0) {
      this.schedule(keys, head);
      return;
    }
    const parts: NormalizedMessage[] = [];
    for (const item of raw) {
      const parsed = PartSchema.safeParse(JSON.parse(String(item)));
      if (parsed.success) parts.push(parsed.data as NormalizedMessage);
    }
    if (parts.length > 0) this.options.onAlbum(parts);
  }
}
