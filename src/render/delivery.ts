import type { Redis } from 'ioredis';
import { createRedisKeys, type RedisKeys } from '../core/redis-keys.js';
import { Lease, leaseValue } from '../lib/lease.js';

export interface DeliveryGuardOptions {
  redis: Redis;
  /** Where the delivery markers live; default the `nvb` key map. */
  keys?: RedisKeys;
  /** Names the lease holder in the marker, for operators reading Redis. */
  workerId: string;
  /** A delivering worker holds its lease this long, renewed while it sends; a killed one's lease lapses. */
  leaseMs: number;
  /**
   * How long the `delivered` marker outlives the delivery; default 2 days: longer than a
   * completed job is kept (1 day, when a duplicate enqueue is a no-op anyway), and the render
   * id comes from one inbox entry, which cannot come back later than that.
   */
  keepDeliveredSeconds?: number;
}

export type DeliveryOutcome =
  /** This call sent it. */
  | { kind: 'delivered' }
  /** An earlier run already sent it: nothing was done. */
  | { kind: 'already-delivered' }
  /** Another live worker is sending it now: try again after `retryInMs`. */
  | { kind: 'busy'; retryInMs: number };

const DELIVERED = 'delivered';
const DELIVERED_TTL_SECONDS = 2 * 86_400;

/**
 * Runs `send` at most once per delivery id across processes and BullMQ re-runs (BullMQ
 * delivers a job at least once). A `Lease` guards the send; success turns it into a
 * lasting `delivered` marker; a failed send drops the lease so a retry can try again; a
 * killed worker's lease expires so the re-run delivers. The one window left: a process killed
 * after the platform accepted the file but before the marker was written sends it again on
 * the re-run (the outbox gets the same `deliveryId` to dedupe where the platform can).
 */
export async function deliverOnce(
  options: DeliveryGuardOptions,
  deliveryId: string,
  send: () => Promise<void>,
): Promise<DeliveryOutcome> {
  const { redis, leaseMs } = options;
  const key = (options.keys ?? createRedisKeys()).delivery(deliveryId);
  const lease = new Lease(redis, key, leaseMs, leaseValue(`delivering:${options.workerId}`));

  const taken = await lease.take();
  if (!taken.taken) {
    if (taken.holder === DELIVERED) return { kind: 'already-delivered' };
    return { kind: 'busy', retryInMs: taken.ttlMs > 0 ? taken.ttlMs + 50 : 50 };
  }

  const renewing = lease.keepRenewed();
  try {
    await send();
  } catch (error) {
    renewing.stop();
    await lease.release().catch(() => undefined);
    throw error;
  }
  renewing.stop();
  await redis.set(key, DELIVERED, 'EX', options.keepDeliveredSeconds ?? DELIVERED_TTL_SECONDS);
  return { kind: 'delivered' };
}

/** The Redis key of a delivery's marker (exported for tests and operators). */
export function deliveryMarkerKey(prefix: string, deliveryId: string): string {
  return createRedisKeys(prefix).delivery(deliveryId);
}
