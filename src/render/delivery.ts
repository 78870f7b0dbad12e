import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface DeliveryGuardOptions {
  redis: Redis;
  /** Key prefix; default `nvb`. */
  prefix?: string;
  /** Names the lease holder in the marker, for operators reading Redis. */
  workerId: string;
  /** A delivering worker holds its lease this long, renewed while it sends; a killed one's lease lapses. */
  leaseMs: number;
  /** How long the `delivered` marker outlives the delivery; default 30 days. */
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

const RENEW = `
-- KEYS[1] the delivery marker
-- ARGV[1] this worker's lease value ('delivering:<workerId>:<nonce>')
-- ARGV[2] lease in ms
-- Returns 1 when the lease was still ours and was extended, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

const RELEASE = `
-- KEYS[1] the delivery marker
-- ARGV[1] this worker's lease value
-- Deletes the marker only while it is our lease (never a 'delivered' marker or another's lease).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * Runs `send` at most once per delivery id across processes and BullMQ re-runs (BullMQ
 * delivers a job at least once). A `SET NX PX` lease guards the send; success turns it into a
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
  const key = deliveryMarkerKey(options.prefix ?? 'nvb', deliveryId);
  const lease = `delivering:${options.workerId}:${randomUUID().slice(0, 8)}`;

  const taken = await redis.set(key, lease, 'PX', leaseMs, 'NX');
  // A resent SET (its first answer lost to a Redis restart) finds our own lease: it is ours.
  const [value, ttl] = taken === 'OK' ? [lease, leaseMs] : await Promise.all([redis.get(key), redis.pttl(key)]);
  if (value !== lease) {
    if (value === DELIVERED) return { kind: 'already-delivered' };
    // The marker vanished between the two calls (a failed send released it): retry soon.
    return { kind: 'busy', retryInMs: ttl > 0 ? ttl + 50 : 50 };
  }

  const renew = setInterval(() => {
    redis.eval(RENEW, 1, key, lease, leaseMs).catch(() => undefined);
  }, Math.max(10, Math.floor(leaseMs / 3)));
  try {
    await send();
  } catch (error) {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, lease).catch(() => undefined);
    throw error;
  }
  clearInterval(renew);
  await redis.set(key, DELIVERED, 'EX', options.keepDeliveredSeconds ?? 30 * 24 * 3600);
  return { kind: 'delivered' };
}

/** The Redis key of a delivery's marker (exported for tests and operators). */
export function deliveryMarkerKey(prefix: string, deliveryId: string): string {
  return `${prefix}:delivery:${deliveryId}`;
}
