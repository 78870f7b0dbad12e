import type { Redis } from 'ioredis';
import { summarize, timeSequential, type SampleLoop, type Summary } from './stats.js';

/** Parses an `INFO` section into its `name:value` fields. */
function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Calls per command as the server counts them (`INFO commandstats`). Commands a Lua script
 * runs with `redis.call` are counted too, so this is the work done, not the round trips.
 */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const [name, value] of infoFields(await redis.info('commandstats'))) {
    const match = /(?:^|,)calls=(\d+)/.exec(value);
    if (name.startsWith('cmdstat_') && match?.[1] !== undefined) calls.set(name.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** Calls made between two `commandCalls` readings, without `info` (the readings themselves). */
export function callsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, calls] of after) {
    const made = calls - (before.get(name) ?? 0);
    if (made > 0 && name !== 'info') delta[name] = made;
  }
  return delta;
}

/** `used_memory`: what the server's allocator holds for data and overhead, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const value = infoFields(await redis.info('memory')).get('used_memory');
  if (value === undefined) throw new Error('INFO memory has no used_memory');
  return Number(value);
}

/** Sequential PINGs on one connection: the cheapest command, so the round trip itself. */
export async function pingRoundTrip(redis: Redis, warmup: number, loop: SampleLoop): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await redis.ping();
  return summarize(
    await timeSequential(loop, async () => {
      await redis.ping();
    }),
  );
}

type SendCommand = Redis['sendCommand'];

/**
 * Client-side view of the commands one Redis connection sends. ioredis has no hook for it, so
 * the connection's `sendCommand` (the one path every command takes, pipelines included) is
 * shadowed by a timing wrapper between `start` and `stop`.
 *
 * Commands sent together (a MULTI pipeline) overlap, so time is counted while at least one
 * command is in flight, and each stretch of such time is one round trip: the wait the caller
 * really had, not the sum of the commands' latencies.
 */
export class RedisCommandTimer {
  /** Commands sent; a Lua script is one, however many commands it runs. */
  commands = 0;
  /** Stretches with a command in flight: what the caller waited for, one after another. */
  roundTrips = 0;
  /** Wall time with at least one command in flight. */
  busyMicros = 0;
  private inFlight = 0;
  private busySince = 0n;
  private timed: Redis | undefined;

  start(redis: Redis): void {
    if (this.timed !== undefined) throw new Error('RedisCommandTimer already started');
    this.timed = redis;
    const original = redis.sendCommand.bind(redis);
    const sent = (at: bigint): void => {
      this.commands += 1;
      if (this.inFlight === 0) {
        this.roundTrips += 1;
        this.busySince = at;
      }
      this.inFlight += 1;
    };
    const settled = (): void => {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.busyMicros += Number(process.hrtime.bigint() - this.busySince) / 1000;
    };
    // An own property shadows the prototype's method for this connection only.
    redis.sendCommand = (...args: Parameters<SendCommand>): ReturnType<SendCommand> => {
      // Read before sending: the write to the socket is part of the wait.
      const at = process.hrtime.bigint();
      const result = original(...args);
      if (result instanceof Promise) {
        sent(at);
        // A second, handled branch: the caller still gets (and handles) the original promise.
        result.then(settled, settled);
      }
      return result;
    };
  }

  stop(): void {
    if (this.timed === undefined) return;
    // Removing the own property brings the prototype's method back.
    Reflect.deleteProperty(this.timed, 'sendCommand');
    this.timed = undefined;
  }
}
