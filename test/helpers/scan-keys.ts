import type { Redis } from 'ioredis';
import { masterNodes } from '../../src/lib/redis-connection.js';

/**
 * Every key matching `pattern`, a batch at a time: on a cluster each master is scanned (a
 * SCAN sees one node's keys only). For tests that look at everything a run left; the product never walks the keyspace.
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
