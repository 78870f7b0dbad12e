import type { Redis } from 'ioredis';
import { masterNodes } from './redis-connection.js';

/**
 * Every key matching `pattern`, a batch at a time: on a cluster each master is scanned (a
 * SCAN sees one node's keys only). For sweeps and `/stats`, never a hot path.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 500): AsyncGenerator<string[]> {
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
