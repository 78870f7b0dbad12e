import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/ops/login-throttle.js';

describe('LoginThrottle', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('gives four free wrong passwords, then a wait that doubles up to the cap', () => {
    const time = clock();
    const throttle = new LoginThrottle({ now: time.now });
    for (let i = 0; i < 4; i += 1) {
      throttle.failed('10.0.0.1');
      expect(throttle.waitMs('10.0.0.1')).toBe(0);
    }
    throttle.failed('10.0.0.1');
    expect(throttle.waitMs('10.0.0.1')).toBe(2_000);
    time.advance(2_000);
    expect(throttle.waitMs('10.0.0.1')).toBe(0);
    throttle.failed('10.0.0.1');
    expect(throttle.waitMs('10.0.0.1')).toBe(4_000);
    for (let i = 0; i < 20; i += 1) throttle.failed('10.0.0.1');
    expect(throttle.waitMs('10.0.0.1')).toBe(5 * 60_000);
    // Another client is not slowed by this one.
    expect(throttle.waitMs('10.0.0.2')).toBe(0);
  });

  it('starts afresh after a right password, or a quiet quarter of an hour', () => {
    const time = clock();
    const throttle = new LoginThrottle({ now: time.now });
    for (let i = 0; i < 5; i += 1) throttle.failed('a');
    throttle.succeeded('a');
    expect(throttle.waitMs('a')).toBe(0);
    throttle.failed('a');
    expect(throttle.waitMs('a')).toBe(0);

    for (let i = 0; i < 4; i += 1) throttle.failed('b');
    time.advance(15 * 60_000 + 1);
    throttle.failed('b');
    // Forgotten: this is its first failure again.
    expect(throttle.waitMs('b')).toBe(0);
  });

  it('remembers a bounded number of clients, dropping the oldest', () => {
    const throttle = new LoginThrottle({ maxClients: 3, freeFailures: 1 });
    for (const client of ['a', 'b', 'c', 'd']) throttle.failed(client);
    expect(throttle.waitMs('a')).toBe(0);
    expect(throttle.waitMs('b')).toBeGreaterThan(0);
    expect(throttle.waitMs('d')).toBeGreaterThan(0);
  });
});
