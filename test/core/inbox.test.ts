import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Inbox } from '../../src/core/inbox.js';
import { testRedis } from '../helpers/redis.js';

describe('Inbox', () => {
  const clients: Redis[] = [];
  const inboxes: Inbox[] = [];
  afterEach(async () => {
    for (const inbox of inboxes.splice(0)) inbox.stop();
    for (const client of clients.splice(0)) await client.quit();
  });

  function open(url: string, prefix: string): Inbox {
    const redis = new Redis(url);
    clients.push(redis);
    const inbox = new Inbox(redis, prefix);
    inboxes.push(inbox);
    return inbox;
  }

  it('when the owner is alive, then nobody else takes its messages; once its heartbeat is gone, exactly one sweeper does', async () => {
    const { url, prefix } = testRedis();
    const owner = open(url, prefix);
    await owner.start();
    await owner.keep('telegram:1', { text: 'hello' });
    await owner.keep('discord:9', { text: 'other platform' });

    const a = open(url, prefix);
    const b = open(url, prefix);
    await a.start();
    await b.start();
    expect(await a.claimOrphans('telegram:')).toEqual([]);
    expect(await owner.claimOrphans('telegram:')).toEqual([]);

    // The owner dies: its heartbeat key lapses.
    owner.stop();
    const raw = clients[0]!;
    await raw.del(`${prefix}:alive:${owner.ownerId}`);
    const [first, second] = await Promise.all([a.claimOrphans('telegram:'), b.claimOrphans('telegram:')]);
    expect([...first, ...second]).toEqual([{ id: 'telegram:1', payload: { text: 'hello' } }]);
    // Released entries are gone; other platforms' entries are left alone.
    expect(await raw.hkeys(`${prefix}:inbox`)).toEqual(['discord:9']);
  });
});
