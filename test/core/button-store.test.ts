import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ButtonStore, projectRef } from '../../src/core/button-store.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { SessionStore, type SessionKey } from '../../src/core/session-store.js';
import { testRedis } from '../helpers/redis.js';

const { url } = testRedis();
const redis = new Redis(url);
afterAll(() => redis.disconnect());

/** A fresh key space, a session store and a button store on it, as a started process has them. */
function rig(maxDataBytes = 64) {
  const { prefix } = testRedis();
  const keys = createRedisKeys(prefix);
  const sessions = new SessionStore(redis, keys);
  const make = () => new ButtonStore(redis, keys, { platform: 'telegram', scheme: 'p', maxDataBytes, projects: new SessionStore(redis, keys) });
  const project = async (key: SessionKey, sessionId: string) => {
    await sessions.write(key, { taskId: `task-${sessionId}`, sessionId, nemoUserId: 'n', language: 'en', createdAt: 1, updatedAt: 1 });
  };
  return { prefix, keys, sessions, make, project };
}

const OWNER = '424242';
const CHAT = '-1001234567890';

describe('ButtonStore: buttons that carry their own meaning', () => {
  it('when a row is encoded, then nothing is written to Redis, and a new store (a restarted process) acts on a press by the owner in that chat', async () => {
    const { prefix, make, project } = rig();
    await project({ platform: 'telegram', chatId: CHAT, userId: OWNER }, 'sess-1');
    const before = await redis.keys(`${prefix}*`);
    const data = make().encode({ ownerId: OWNER, chatId: CHAT, project: 'sess-1' }, 'export');
    expect(data).toBeDefined();
    expect(await redis.keys(`${prefix}*`)).toEqual(before);

    const press = await make().press(data ?? '', { userId: OWNER, chatId: CHAT });
    expect(press).toEqual({ kind: 'act', action: 'export', target: { ownerId: OWNER, chatId: CHAT, project: 'sess-1' } });
  });

  it('when a row is posted in a topic, then the press acts in that topic; the same data pressed in another topic or chat is refused as elsewhere', async () => {
    const { make, project } = rig();
    await project({ platform: 'telegram', chatId: CHAT, userId: OWNER }, 'sess-1');
    const store = make();
    const data = store.encode({ ownerId: OWNER, chatId: CHAT, threadId: '77', project: 'sess-1' }, 'status') ?? '';
    expect(await store.press(data, { userId: OWNER, chatId: CHAT })).toMatchObject({ kind: 'act', target: { threadId: '77' } });
    expect(await store.press(data.replace(/:77$/, ':78'), { userId: OWNER, chatId: CHAT })).toEqual({ kind: 'elsewhere' });
    expect(await store.press(data, { userId: OWNER, chatId: '-100999' })).toEqual({ kind: 'elsewhere' });
    expect(await store.press(data, { userId: OWNER, chatId: undefined })).toEqual({ kind: 'elsewhere' });
  });

  it('when someone other than the owner presses, then it is refused as not theirs, naming the owner, before any project is read', async () => {
    const { make, project } = rig();
    await project({ platform: 'telegram', chatId: CHAT, userId: OWNER }, 'sess-1');
    await project({ platform: 'telegram', chatId: CHAT, userId: '777' }, 'sess-2');
    const store = make();
    const data = store.encode({ ownerId: OWNER, chatId: CHAT, project: 'sess-1' }, 'new') ?? '';
    expect(await store.press(data, { userId: '777', chatId: CHAT })).toEqual({ kind: 'not-yours', ownerId: OWNER });
  });

  it('when the owner started another project since (or the project expired), then the old row is stale and refused as expired', async () => {
    const { sessions, make, project } = rig();
    const key: SessionKey = { platform: 'telegram', chatId: CHAT, userId: OWNER };
    await project(key, 'sess-old');
    const store = make();
    const data = store.encode({ ownerId: OWNER, chatId: CHAT, project: 'sess-old' }, 'export') ?? '';
    await project(key, 'sess-new');
    expect(await store.press(data, { userId: OWNER, chatId: CHAT })).toEqual({ kind: 'expired' });
    await sessions.delete(key);
    expect(await store.press(data, { userId: OWNER, chatId: CHAT })).toEqual({ kind: 'expired' });
  });

  it('when the data is forged or malformed (another project ref, another owner, an unknown action, junk), then nothing acts', async () => {
    const { make, project } = rig();
    await project({ platform: 'telegram', chatId: CHAT, userId: OWNER }, 'sess-1');
    const store = make();
    const data = store.encode({ ownerId: OWNER, chatId: CHAT, project: 'sess-1' }, 'export') ?? '';
    const [prefix, action, owner, refAndTag] = data.split(':') as [string, string, string, string];
    const otherRef = `${projectRef('someone-elses')}${refAndTag.slice(8)}`;
    expect(await store.press([prefix, action, owner, otherRef].join(':'), { userId: OWNER, chatId: CHAT })).toEqual({ kind: 'expired' });
    // Naming the presser as owner of someone's row: their own project is not that one.
    expect(await store.press([prefix, action, '777', refAndTag].join(':'), { userId: '777', chatId: CHAT })).toEqual({ kind: 'expired' });
    for (const junk of ['', 'p', 'p:launch:1:AAAAAAAAAAAA', `${data}x`, `${data}:`, data.replace('p:', 'q:'), 'p:export:../..:AAAAAAAAAAAA', '{"action":"export"}']) {
      expect(await store.press(junk, { userId: OWNER, chatId: CHAT })).toEqual({ kind: 'expired' });
      expect(store.recognizes(junk)).toBe(false);
    }
  });

  it("when an id would not fit the platform's limit or holds characters outside the format, then encode gives nothing rather than a broken button", () => {
    const { make } = rig(40);
    const store = make();
    expect(store.encode({ ownerId: '1'.repeat(24), chatId: CHAT, threadId: '1'.repeat(20), project: 's' }, 'credits')).toBeUndefined();
    expect(store.encode({ ownerId: 'a:b', chatId: CHAT, project: 's' }, 'credits')).toBeUndefined();
    expect(store.encode({ ownerId: '1', chatId: CHAT, project: 's' }, 'credits')).toMatch(/^p:credits:1:[A-Za-z0-9_-]{12}$/);
  });

  it('when two sessions differ, then their project refs differ, and each is the same in every process', () => {
    expect(projectRef('sess-1')).toBe(projectRef('sess-1'));
    expect(projectRef('sess-1')).not.toBe(projectRef('sess-2'));
    expect(projectRef('sess-1')).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });
});
