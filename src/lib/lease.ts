import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { LEASE_RELEASE } from './lua/lease-release.js';
import { LEASE_RENEW } from './lua/lease-renew.js';
import { LEASE_TAKE } from './lua/lease-take.js';
import { runScript } from './lua/script.js';

const TakeAnswerSchema = z.union([z.tuple([z.literal(1)]), z.tuple([z.literal(0), z.string(), z.number()])]);

/** What a take found: the lease is ours, or who holds it and for how much longer. */
export type LeaseTake =
  | { taken: true }
  /** `ttlMs`: the holder's remaining life (-1: none set, as PTTL says). */
  | { taken: false; holder: string; ttlMs: number };

export interface KeepRenewedOptions {
  /** The shortest pause between renewals, for very short leases; default 10 ms. */
  minEveryMs?: number;
  /** A renewal that failed (Redis unreachable); default: ignored, the next one tries again. */
  onError?: (error: unknown) => void;
}

/** Stops the renewals started by `keepRenewed`. */
export interface Renewing {
  stop(): void;
}

/**
 * A lease's value: unique per take, so a resent take recognises its own. `holder` names the
 * taker for operators reading Redis (`delivering:<workerId>`).
 */
export function leaseValue(holder?: string): string {
  return holder === undefined ? randomUUID() : `${holder}:${randomUUID()}`;
}

/**
 * A key held by one owner (`value`) for `ttlMs` at a time, across processes: take it, renew it
 * while working, release it when done; a crashed owner's lease lapses. Each step is one Lua
 * script, safe to run twice: a Redis restart can cut the answer to a step Redis already ran,
 * and the client sends it again. A resent take finds its own value and answers "taken".
 */
export class Lease {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly ttlMs: number,
    readonly value: string = leaseValue(),
  ) {}

  async take(): Promise<LeaseTake> {
    const answer = TakeAnswerSchema.parse(await runScript(this.redis, LEASE_TAKE, [this.key], [this.value, this.ttlMs]));
    return answer[0] === 1 ? { taken: true } : { taken: false, holder: answer[1], ttlMs: answer[2] };
  }

  /** Starts the lease's life again; false when the lease is no longer ours (it lapsed, or was taken). */
  async renew(): Promise<boolean> {
    return Number(await runScript(this.redis, LEASE_RENEW, [this.key], [this.value, this.ttlMs])) === 1;
  }

  /** Lets the lease go if it is still ours (a resend finds nothing of ours left and does nothing). */
  async release(): Promise<void> {
    await runScript(this.redis, LEASE_RELEASE, [this.key], [this.value]);
  }

  /**
   * Renews at a third of the lease's life until stopped, so two renewals may fail before it
   * lapses. The timer does not keep the process alive: the work holding the lease does.
   */
  keepRenewed(options: KeepRenewedOptions = {}): Renewing {
    const onError = options.onError ?? (() => undefined);
    const timer = setInterval(
      () => {
        this.renew().catch(onError);
      },
      Math.max(options.minEveryMs ?? 10, Math.floor(this.ttlMs / 3)),
    );
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
