import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The Redis hash of received messages not yet safe elsewhere (journaled, queued or answered). */
export function inboxKey(prefix: string): string {
  return `${prefix}:inbox`;
}

export interface InboxEntry {
  id: string;
  payload: unknown;
}

// A process proves it is alive this often; a silent one's messages are taken over after the TTL.
const HEARTBEAT_MS = 10_000;
const HEARTBEAT_TTL_SECONDS = 30;

/**
 * Messages a platform confirmed to us but the engine has not yet made durable: a process
 * killed in between would lose them. Each entry names its owner process; a live owner keeps a
 * heartbeat, and entries of a dead one are taken over and handled again by another process.
 */
export class Inbox {
  readonly ownerId = randomUUID();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'nvb',
  ) {}

  /** Starts proving this process alive; call before `keep`. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async keep(id: string, payload: unknown): Promise<void> {
    await this.redis.hset(inboxKey(this.prefix), id, JSON.stringify({ owner: this.ownerId, payload }));
  }

  async release(id: string): Promise<void> {
    await this.redis.hdel(inboxKey(this.prefix), id);
  }

  /**
   * Takes over the entries (ids starting with `idPrefix`) whose owner is dead. Removing an entry
   * is the claim: of several processes sweeping at once, one gets each.
   */
  async claimOrphans(idPrefix: string): Promise<InboxEntry[]> {
    const all = await this.redis.hgetall(inboxKey(this.prefix));
    const claimed: InboxEntry[] = [];
    const alive = new Map<string, boolean>();
    for (const [id, raw] of Object.entries(all)) {
      if (!id.startsWith(idPrefix)) continue;
      const entry = parse(raw);
      // This process's own entries are being handled right now.
      if (entry?.owner === this.ownerId) continue;
      if (entry) {
        let live = alive.get(entry.owner);
        if (live === undefined) {
          live = (await this.redis.exists(this.heartbeatKey(entry.owner))) === 1;
          alive.set(entry.owner, live);
        }
        if (live) continue;
      }
      if ((await this.redis.hdel(inboxKey(this.prefix), id)) === 1 && entry) claimed.push({ id, payload: entry.payload });
    }
    return claimed;
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.heartbeatKey(this.ownerId), '1', 'EX', HEARTBEAT_TTL_SECONDS);
  }

  private heartbeatKey(owner: string): string {
    return `${this.prefix}:alive:${owner}`;
  }
}

function parse(raw: string): { owner: string; payload: unknown } | undefined {
  try {
    const value = JSON.parse(raw) as { owner?: unknown; payload?: unknown };
    return typeof value.owner === 'string' ? { owner: value.owner, payload: value.payload } : undefined;
  } catch {
    return undefined;
  }
}
