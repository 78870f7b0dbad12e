import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Lease, leaseValue } from '../../src/lib/lease.js';
import { LEASE_TAKE } from '../../src/lib/lua/lease-take.js';
import { runScript } from '../../src/lib/lua/script.js';
import { startReplyCutter, type ReplyCutter } from '../helpers/reply-cutter.js';
import { testRedis, waitFor } from '../helpers/redis.js';

describe('Lease', () => {
  const clients: Redis[] = [];
  const cutters: ReplyCutter[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const cutter of cutters.splice(0)) await cutter.close();
  });

  function rig(): { redis: Redis; key: string; url: string } {
    const { url, prefix } = testRedis();
    const redis = new Redis(url);
    clients.push(redis);
    return { redis, key: `${prefix}lease`, url };
  }

  it('when the key is free, then take gets it for its life and stores its value', async () => {
    const { redis, key } = rig();
    const lease = new Lease(redis, key, 60_000);
    expect(await lease.take()).toEqual({ taken: true });
    expect(await redis.get(key)).toBe(lease.value);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('when another owner holds it, then take is refused with the holder and its remaining life, and renew and release leave it alone', async () => {
    const { redis, key } = rig();
    const holder = new Lease(redis, key, 60_000, leaseValue('delivering:w1'));
    await holder.take();
    const other = new Lease(redis, key, 60_000);
    const refused = await other.take();
    expect(refused).toMatchObject({ taken: false, holder: holder.value });
    if (refused.taken) throw new Error('expected a refusal');
    expect(refused.ttlMs).toBeGreaterThan(50_000);
    expect(await other.renew()).toBe(false);
    await other.release();
    expect(await redis.get(key)).toBe(holder.value);
  });

  it('when the holder takes again (a resent take), then it is told "taken" and the lease keeps its remaining life', async () => {
    const { redis, key } = rig();
    const lease = new Lease(redis, key, 60_000);
    await lease.take();
    await redis.pexpire(key, 5_000);
    expect(await lease.take()).toEqual({ taken: true });
    expect(await redis.pttl(key)).toBeLessThanOrEqual(5_000);
  });

  it('when the holder renews, then the lease lives its whole life again', async () => {
    const { redis, key } = rig();
    const lease = new Lease(redis, key, 60_000);
    await lease.take();
    await redis.pexpire(key, 5_000);
    expect(await lease.renew()).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(50_000);
  });

  it('when the holder releases, then the key is free for another; a value that replaced the lease is never deleted', async () => {
    const { redis, key } = rig();
    const lease = new Lease(redis, key, 60_000);
    await lease.take();
    await lease.release();
    expect(await redis.exists(key)).toBe(0);
    expect(await new Lease(redis, key, 60_000).take()).toEqual({ taken: true });

    const delivering = new Lease(redis, `${key}:2`, 60_000);
    await delivering.take();
    await redis.set(`${key}:2`, 'delivered');
    await delivering.release();
    expect(await redis.get(`${key}:2`)).toBe('delivered');
    expect(await delivering.take()).toMatchObject({ taken: false, holder: 'delivered', ttlMs: -1 });
  });

  it('when a holder stops renewing, then its lease lapses, another takes it, and the old holder can neither renew nor release it', async () => {
    const { redis, key } = rig();
    const crashed = new Lease(redis, key, 150);
    await crashed.take();
    const successor = new Lease(redis, key, 60_000);
    await waitFor(async () => (await successor.take()).taken, { timeoutMs: 10_000, intervalMs: 20, message: 'the lease to lapse' });
    expect(await crashed.renew()).toBe(false);
    await crashed.release();
    expect(await redis.get(key)).toBe(successor.value);
  });

  it('when kept renewed, then it outlives its life until stopped, and lapses after', async () => {
    const { redis, key } = rig();
    const lease = new Lease(redis, key, 2_400);
    await lease.take();
    const renewing = lease.keepRenewed();
    // A renewal shows as the remaining life going up; four of them (every 800 ms) outlast one life.
    let renewals = 0;
    let last = await redis.pttl(key);
    await waitFor(
      async () => {
        const ttl = await redis.pttl(key);
        if (ttl > last) renewals += 1;
        last = ttl;
        return renewals >= 4;
      },
      { timeoutMs: 30_000, intervalMs: 50, message: 'four renewals' },
    );
    expect(await redis.get(key)).toBe(lease.value);
    renewing.stop();
    await waitFor(async () => (await redis.exists(key)) === 0, { timeoutMs: 30_000, intervalMs: 50, message: 'the lease to lapse once stopped' });
  });

  it('when a renewal fails, then onError is told and nothing throws', async () => {
    const { redis, key } = rig();
    const lease = new Lease(redis, key, 90);
    await lease.take();
    redis.disconnect();
    const failed = new Promise<unknown>((resolve) => {
      const renewing = lease.keepRenewed({
        onError: (error) => {
          renewing.stop();
          resolve(error);
        },
      });
    });
    expect(await failed).toBeInstanceOf(Error);
  });

  describe('resent after a lost answer', () => {
    async function cutRig(): Promise<{ cutter: ReplyCutter; cut: Redis; direct: Redis; key: string }> {
      const { redis: direct, key, url } = rig();
      const cutter = await startReplyCutter(url);
      cutters.push(cutter);
      const cut = new Redis(cutter.url, { maxRetriesPerRequest: null });
      clients.push(cut);
      await cut.ping();
      return { cutter, cut, direct, key };
    }

    it('when the answer to a take is lost, then the resend still holds the lease and another owner is refused', async () => {
      const { cutter, cut, direct, key } = await cutRig();
      const lease = new Lease(cut, key, 60_000);
      const lost = cutter.cutNextReply();
      expect(await lease.take()).toEqual({ taken: true });
      await lost;
      expect(await direct.get(key)).toBe(lease.value);
      expect(await new Lease(direct, key, 60_000).take()).toMatchObject({ taken: false, holder: lease.value });
    });

    it('when the answer to a renewal is lost, then the resend still renews it', async () => {
      const { cutter, cut, direct, key } = await cutRig();
      const lease = new Lease(cut, key, 60_000);
      await lease.take();
      await direct.pexpire(key, 5_000);
      const lost = cutter.cutNextReply();
      expect(await lease.renew()).toBe(true);
      await lost;
      expect(await direct.pttl(key)).toBeGreaterThan(50_000);
    });

    it('when the answer to a release is lost, then the resend leaves a lease taken meanwhile by another alone', async () => {
      const { cutter, cut, direct, key } = await cutRig();
      const lease = new Lease(cut, key, 60_000);
      await lease.take();
      const lost = cutter.cutNextReply();
      const released = lease.release();
      await lost;
      // Between the lost answer and the resend, another owner takes the freed key.
      const next = new Lease(direct, key, 60_000);
      expect((await next.take()).taken).toBe(true);
      await released;
      expect(await direct.get(key)).toBe(next.value);
    });
  });

  it('refuses to run a script with the wrong number of keys', () => {
    const { redis } = rig();
    expect(() => runScript(redis, LEASE_TAKE, ['a', 'b'], ['v', 1])).toThrow(/takes 1 keys, got 2/);
  });
});
