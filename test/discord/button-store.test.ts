import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CUSTOM_ID_MAX_CHARS, discordButtonStore, parseLegacyCustomId } from '../../adapters/discord/button-store.js';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { SessionStore } from '../../src/core/session-store.js';
import { testRedis } from '../helpers/redis.js';

const { url } = testRedis();
const redis = new Redis(url);

afterAll(() => {
  redis.disconnect();
});

function rig() {
  const { prefix } = testRedis();
  const keys = createRedisKeys(prefix);
  return { keys, sessions: new SessionStore(redis, keys), store: discordButtonStore(redis, keys) };
}

describe('Discord buttons (the core ButtonStore)', () => {
  it('when the ids are the longest Discord gives (20-digit snowflakes), then every custom id fits 100 characters and a fresh store acts on it', async () => {
    const { keys, sessions, store } = rig();
    const owner = '18446744073709551615';
    const channel = '18446744073709551614';
    await sessions.write({ platform: 'discord', chatId: channel, userId: owner }, { taskId: 't', sessionId: 'sess', nemoUserId: 'n', language: 'en', createdAt: 1, updatedAt: 1 });
    for (const action of BUTTON_ACTIONS) {
      const customId = store.encode({ ownerId: owner, chatId: channel, project: 'sess' }, action) ?? '';
      expect(customId.length).toBeGreaterThan(0);
      expect(customId.length).toBeLessThanOrEqual(CUSTOM_ID_MAX_CHARS);
      expect(await discordButtonStore(redis, keys).press(customId, { userId: owner, chatId: channel })).toMatchObject({ kind: 'act', action });
    }
  });

  it('when someone other than its owner presses, then it is theirs not to use; the owner acts', async () => {
    const { sessions, store } = rig();
    await sessions.write({ platform: 'discord', chatId: 'c1', userId: 'u1' }, { taskId: 't', sessionId: 'sess', nemoUserId: 'n', language: 'en', createdAt: 1, updatedAt: 1 });
    const customId = store.encode({ ownerId: 'u1', chatId: 'c1', project: 'sess' }, 'export') ?? '';
    expect(await store.press(customId, { userId: 'u2', chatId: 'c1' })).toEqual({ kind: 'not-yours', ownerId: 'u1' });
    expect(await store.press(customId, { userId: 'u1', chatId: 'c1' })).toMatchObject({ kind: 'act', action: 'export' });
  });

  it('when a row the previous version stored (nvb:<row>:<action>) is pressed while its key lives, then its owner acts; others are refused', async () => {
    const { keys, store } = rig();
    await redis.set(keys.button('discord', 'BBBBBBBBBBBBBBBB'), JSON.stringify({ ownerId: 'u1', chatId: 'c1', actions: ['export', 'new'], createdAt: 1 }), 'EX', 600);
    expect(store.recognizes('nvb:BBBBBBBBBBBBBBBB:export')).toBe(true);
    expect(await store.press('nvb:BBBBBBBBBBBBBBBB:export', { userId: 'u1', chatId: 'c1' })).toMatchObject({ kind: 'act', action: 'export', target: { ownerId: 'u1', chatId: 'c1' } });
    expect(await store.press('nvb:BBBBBBBBBBBBBBBB:export', { userId: 'u2', chatId: 'c1' })).toEqual({ kind: 'not-yours', ownerId: 'u1' });
    expect(await store.press('nvb:AAAAAAAAAAAAAAAA:export', { userId: 'u1', chatId: 'c1' })).toEqual({ kind: 'expired' });
    await redis.set(keys.button('discord', 'CCCCCCCCCCCCCCCC'), JSON.stringify({ ownerId: 'u', chatId: 'c', actions: ['delete-everything'], createdAt: 1 }));
    expect(await store.readLegacy('CCCCCCCCCCCCCCCC')).toBeUndefined();
  });

  it('when a custom id is not one of ours, then it is not recognized', () => {
    const { store } = rig();
    for (const id of ['', 'nvb:short:export', 'nvb:AAAAAAAAAAAAAAAA:launch', 'other:AAAAAAAAAAAAAAAA:export', 'nvb:AAAAAAAAAAAAAAAA:export:x', 'nvp:export:u1']) {
      expect(parseLegacyCustomId(id)).toBeUndefined();
      expect(store.recognizes(id)).toBe(false);
    }
  });
});
