import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AlbumCollector } from '../../adapters/telegram/album-collector.js';
import type { NormalizedMessage } from '../../adapters/telegram/normalize.js';
import { inboxKey } from '../../src/core/inbox.js';
import { startReplyCutter } from '../helpers/reply-cutter.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { inject } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';

// Wide enough that parts sent back to back stay one album on a loaded machine; a lapse of the
// window splits an album, as it should.
const QUIET_MS = 1000;

const clients: Redis[] = [];
const testRedisUrl = (): string => inject('redisUrl');
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function part(messageId: number, group = 'g1', text = ''): NormalizedMessage {
  return {
    messageId,
    chatId: '-100777',
    chatKind: 'group',
    userId: '5',
    text,
    files: [{ kind: 'photo', fileId: `f${messageId}`, uniqueId: `u${messageId}`, name: `photo_${messageId}.jpg`, mimeType: 'image/jpeg', size: messageId }],
    addressed: false,
    mediaGroupId: group,
  };
}

function replicas(count: number, quietMs: number) {
  const { url, prefix } = testRedis();
  const albums: Array<{ by: number; parts: NormalizedMessage[]; at: number }> = [];
  const errors: unknown[] = [];
  const collectors = Array.from({ length: count }, (_, by) => {
    const redis = new Redis(url);
    clients.push(redis);
    return new AlbumCollector({ redis, keys: createRedisKeys(prefix), quietMs, inbox: { ownerId: randomUUID() }, onAlbum: (parts) => albums.push({ by, parts, at: Date.now() }), onError: (e) => errors.push(e) });
  });
  return { collectors, albums, errors, prefix };
}

describe('AlbumCollector', () => {
  it('when album parts land on different replicas, then exactly one replica gets the whole album, once', async () => {
    const { collectors, albums, errors } = replicas(3, QUIET_MS);
    const [a, b, c] = collectors;
    await a?.add(part(1, 'g1', 'caption'));
    await b?.add(part(2));
    await c?.add(part(3));
    await a?.add(part(4));
    await waitFor(() => albums.length > 0, { message: 'the album' });
    // Every replica checks what it still waits for now: none may get the album again.
    await Promise.all(collectors.map((collector) => collector.flush()));
    expect(albums).toHaveLength(1);
    expect(albums[0]?.parts.map((p) => p.messageId).sort()).toEqual([1, 2, 3, 4]);
    expect(errors).toEqual([]);
  });

  it('when an album is captioned /login <token>, then the token is never written to Redis and the album still arrives', async () => {
    const { collectors, albums, prefix } = replicas(1, 200);
    const [only] = collectors;
    const token = 'nmv_usr_album_caption_secret_0001';
    await only?.add(part(1, 'g9', `/login ${token}`));
    const direct = clients[0]!;
    const stored = JSON.stringify(await direct.lrange(createRedisKeys(prefix).telegramAlbum('-100777', 'g9'), 0, -1));
    expect(stored).toContain('/login');
    expect(stored).not.toContain(token);
    await waitFor(() => albums.length === 1, { message: 'the album' });
    expect(albums[0]?.parts[0]?.text).toBe('/login');
  });

  it('when parts keep arriving, then the album waits until they stop', async () => {
    const { collectors, albums } = replicas(1, QUIET_MS);
    const [collector] = collectors;
    let lastPartAt = 0;
    for (let i = 1; i <= 4; i += 1) {
      // A person's pace, well inside the quiet window: the first part's timer fires while parts still come.
      if (i > 1) await new Promise((resolve) => setTimeout(resolve, QUIET_MS / 5));
      lastPartAt = Date.now();
      await collector?.add(part(i, 'slow'));
    }
    await waitFor(() => albums.length === 1, { message: 'the album' });
    await collector?.flush();
    expect(albums).toHaveLength(1);
    expect(albums[0]?.parts).toHaveLength(4);
    // Not before the last part had been quiet for the whole window.
    expect((albums[0]?.at ?? 0) - lastPartAt).toBeGreaterThanOrEqual(QUIET_MS);
  });

  it('when two albums arrive together, then each is gathered on its own', async () => {
    const { collectors, albums } = replicas(1, QUIET_MS);
    const [collector] = collectors;
    await collector?.add(part(1, 'x'));
    await collector?.add(part(2, 'y'));
    await collector?.add(part(3, 'x'));
    await waitFor(() => albums.length === 2, { message: 'two albums' });
    const byGroup = Object.fromEntries(albums.map((album) => [album.parts[0]?.mediaGroupId, album.parts.map((p) => p.messageId).sort()]));
    expect(byGroup).toEqual({ x: [1, 3], y: [2] });
  });

  it('when the bot stops while an album is still arriving, then flush hands it off at once', async () => {
    const { collectors, albums } = replicas(1, 60_000);
    const [collector] = collectors;
    await collector?.add(part(1, 'z'));
    await collector?.add(part(2, 'z'));
    await collector?.flush();
    expect(albums).toHaveLength(1);
    expect(albums[0]?.parts).toHaveLength(2);
  });

  it('when the album is taken with an inbox and the answer to the take is lost, then the resend still gets every part, and the parts wait in the inbox under the taker', async () => {
    const { url, prefix } = testRedis();
    const cutter = await startReplyCutter(url);
    const redis = new Redis(cutter.url, { maxRetriesPerRequest: null });
    const direct = new Redis(url);
    clients.push(redis, direct);
    const albums: Array<{ parts: NormalizedMessage[]; inboxId: string | undefined }> = [];
    const taker = randomUUID();
    const collector = new AlbumCollector({
      redis,
      keys: createRedisKeys(prefix),
      quietMs: QUIET_MS,
      inbox: { ownerId: taker },
      onAlbum: (parts, inboxId) => albums.push({ parts, inboxId }),
      onError: (error) => {
        throw error;
      },
    });
    try {
      // Armed first: only the take runs that script, whenever its timer fires.
      const lost = cutter.cutNextReply("redis.call('LRANGE'");
      await collector.add(part(1, 'cut'));
      await collector.add(part(2, 'cut'));
      await waitFor(() => albums.length > 0, { message: 'the album' });
      await lost;
      expect(albums).toHaveLength(1);
      expect(albums[0]?.parts.map((p) => p.messageId).sort()).toEqual([1, 2]);
      const entry = JSON.parse((await direct.hget(inboxKey(prefix), albums[0]?.inboxId ?? '')) ?? '{}') as { owner?: string; payload?: unknown[] };
      expect(entry.owner).toBe(taker);
      expect(entry.payload).toHaveLength(2);
    } finally {
      await cutter.close();
    }
  });

  it('when the replica holding an album dies before taking it, then another finds it through the album index once abandoned, and the index is left empty', async () => {
    const { collectors, albums, errors, prefix } = replicas(2, 100);
    const [dying, sweeper] = collectors;
    await dying?.add(part(1, 'orphan'));
    await dying?.add(part(2, 'orphan'));
    // Its connection goes before its timer fires: the take fails there, the parts stay in Redis.
    clients[0]?.disconnect();
    await waitFor(() => errors.length > 0, { message: 'the dying replica failing to take the album' });
    const keys = createRedisKeys(prefix);
    const direct = new Redis(testRedisUrl());
    clients.push(direct);
    expect(await direct.zcard(keys.telegramAlbumIndexOf(keys.telegramAlbum('-100777', 'orphan')))).toBe(1);
    // Not abandoned yet: the sweep leaves it.
    await sweeper?.sweep();
    expect(albums).toEqual([]);
    // Twenty seconds on, it is.
    await sweeper?.sweep(Date.now() + 60_000);
    expect(albums.map((album) => album.by)).toEqual([1]);
    expect(albums[0]?.parts.map((p) => p.messageId).sort()).toEqual([1, 2]);
    expect(await direct.exists(keys.telegramAlbumIndexOf(keys.telegramAlbum('-100777', 'orphan')), keys.telegramAlbum('-100777', 'orphan'))).toBe(0);
  });
});
