import { rm } from 'node:fs/promises';
import { startRedis } from '../../test/helpers/redis-server.js';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Shuts the server down and removes its data directory. */
  stop(): Promise<void>;
}

/** A redis-server of the benchmark's own (the tests' helper): empty, no persistence, 127.0.0.1. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const server = await startRedis();
  return {
    url: server.url,
    port: server.port,
    async stop() {
      await server.stop();
      await rm(server.dir, { recursive: true, force: true });
    },
  };
}
