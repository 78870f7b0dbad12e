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
    expect(await owner.admit(`${prefix}:seen:1`, 60, { id: 'telegram:1', payload: { text: 'hello' } })).toBe(true);
    expect(await owner.admit(`${prefix}:seen:9`, 60, { id: 'discord:9', payload: { text: 'other platform' } })).toBe(true);

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
    // A claimed entry belongs to its claimer now; other platforms' entries are left alone.
    const claimer = first.length > 0 ? a : b;
    expect(JSON.parse((await raw.hget(`${prefix}:inbox`, 'telegram:1')) ?? '{}')).toMatchObject({ owner: claimer.ownerId });
    expect(JSON.parse((await raw.hget(`${prefix}:inbox`, 'discord:9')) ?? '{}')).toMatchObject({ owner: owner.ownerId });
    // Its claimer handles it: nobody else takes it again.
    expect(await (claimer === a ? b : a).claimOrphans('telegram:')).toEqual([]);
  });
});
