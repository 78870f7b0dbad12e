export interface LoginThrottleOptions {
  /** Wrong passwords a client may give before it must wait; default 5. */
  freeFailures?: number;
  /** The first wait; each further failure doubles it; default 2 s. */
  firstWaitMs?: number;
  /** The longest wait; default 5 minutes. */
  maxWaitMs?: number;
  /** A client with no failure for this long starts afresh; default 15 minutes. */
  forgetAfterMs?: number;
  /** Clients remembered at most (the oldest go first), so a spray of addresses cannot grow memory; default 10,000. */
  maxClients?: number;
  now?: () => number;
}

interface Failures {
  count: number;
  lastAt: number;
  waitUntil: number;
}

/**
 * Slows down password guessing on the operator's pages, per client address: a few free
 * tries, then a wait that doubles with each further failure. In memory: the pages are served
 * per process, and a guesser spread over processes still meets a doubling wait in each.
 */
export class LoginThrottle {
  private readonly clients = new Map<string, Failures>();
  private readonly freeFailures: number;
  private readonly firstWaitMs: number;
  private readonly maxWaitMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(options: LoginThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.firstWaitMs = options.firstWaitMs ?? 2_000;
    this.maxWaitMs = options.maxWaitMs ?? 5 * 60_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.maxClients = options.maxClients ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** How long `client` must wait before its password is checked again; 0: now. */
  waitMs(client: string): number {
    const entry = this.current(client);
    return entry === undefined ? 0 : Math.max(0, entry.waitUntil - this.now());
  }

  failed(client: string): void {
    const now = this.now();
    const count = (this.current(client)?.count ?? 0) + 1;
    const over = count - this.freeFailures;
    const waitMs = over < 0 ? 0 : Math.min(this.maxWaitMs, this.firstWaitMs * 2 ** Math.min(over, 30));
    // Re-inserted, so the map's order is the order of last failure: the oldest is evicted first.
    this.clients.delete(client);
    this.clients.set(client, { count, lastAt: now, waitUntil: now + waitMs });
    if (this.clients.size > this.maxClients) this.clients.delete(this.clients.keys().next().value as string);
  }

  succeeded(client: string): void {
    this.clients.delete(client);
  }

  private current(client: string): Failures | undefined {
    const entry = this.clients.get(client);
    if (entry !== undefined && this.now() - entry.lastAt > this.forgetAfterMs && this.now() >= entry.waitUntil) {
      this.clients.delete(client);
      return undefined;
    }
    return entry;
  }
}
