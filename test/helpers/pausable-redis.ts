import { Redis } from 'ioredis';
import { startRedis, type RedisServerHandle } from './redis-server.js';

/**
 * A redis-server of the test's own whose writes can be held (`CLIENT PAUSE … WRITE` holds every
 * client of a server, so a shared test server will not do): what the bot does before its first
 * Redis write shows while everything after it waits.
 */
export interface PausableRedis {
  url: string;
  /** A connection of the test's own, for reads while the writes wait. */
  admin: Redis;
  pauseWrites(): Promise<void>;
  unpause(): Promise<void>;
  /** Lets writes go and stops the server. */
  stop(): Promise<void>;
}

export async function startPausableRedis(): Promise<PausableRedis> {
  const server: RedisServerHandle = await startRedis();
  const admin = new Redis(server.url);
  return {
    url: server.url,
    admin,
    pauseWrites: async () => {
      await admin.client('PAUSE', 60_000, 'WRITE');
    },
    unpause: async () => {
      await admin.client('UNPAUSE');
    },
    stop: async () => {
      admin.disconnect();
      await server.stop();
    },
  };
}
