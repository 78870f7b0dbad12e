import { describe, expect, it } from 'vitest';
import { CALLBACK_DATA_MAX_BYTES, parseLegacyCallbackData, telegramButtonStore } from '../../adapters/telegram/button-store.js';
import { BUTTON_ACTIONS } from '../../src/core/commands.js';
import { SessionStore } from '../../src/core/session-store.js';
import { testRedisClients } from '../helpers/redis.js';

const connect = testRedisClients();

function store() {
  const { redis, prefix, keys } = connect();
  return { redis, prefix, keys, sessions: new SessionStore(redis, keys), store: telegramButtonStore(redis, keys) };
}

describe('Telegram buttons (the core ButtonStore)', () => {
  it('when the ids are the longest Telegram gives (a 52-bit user, a supergroup, a topic), then every button fits 64 bytes of callback_data', () => {
    const { store: s } = store();
    for (const action of BUTTON_ACTIONS) {
      const data = s.encode({ ownerId: String(2 ** 52), chatId: '-1009999999999', threadId: '2147483647', project: 'a'.repeat(64) }, action);
      expect(data).toBeDefined();
      expect(Buffer.byteLength(data ?? '')).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
    }
  });

  it('when the owner presses in the chat, then it acts; another member is refused as not theirs (Telegram now checks who pressed)', async () => {
    const { store: s, sessions } = store();
    await sessions.write({ platform: 'telegram', chatId: '-100123', userId: '42' }, { taskId: 't', sessionId: 'sess', nemoUserId: 'n', language: 'en', createdAt: 1, updatedAt: 1 });
    const data = s.encode({ ownerId: '42', chatId: '-100123', project: 'sess' }, 'export') ?? '';
    expect(await s.press(data, { userId: '42', chatId: '-100123' })).toMatchObject({ kind: 'act', action: 'export' });
    expect(await s.press(data, { userId: '77', chatId: '-100123' })).toEqual({ kind: 'not-yours', ownerId: '42' });
  });

  it('when a row stored by the previous version (b:<row>:<action>) is pressed while its key lives, then it acts for its owner in its chat only', async () => {
    const { redis, keys, store: s } = store();
    await redis.set(keys.button('telegram', 'ROWROWROWROWROW1'), JSON.stringify({ ownerId: '42', chatId: '-1005', threadId: '3', actions: ['export', 'status'], createdAt: 1 }), 'EX', 600);
    expect(parseLegacyCallbackData('b:ROWROWROWROWROW1:status')).toEqual({ rowId: 'ROWROWROWROWROW1', action: 'status' });
    expect(s.recognizes('b:ROWROWROWROWROW1:status')).toBe(true);
    expect(await s.press('b:ROWROWROWROWROW1:status', { userId: '42', chatId: '-1005' })).toEqual({
      kind: 'act',
      action: 'status',
      target: { ownerId: '42', chatId: '-1005', threadId: '3' },
    });
    expect(await s.press('b:ROWROWROWROWROW1:status', { userId: '9', chatId: '-1005' })).toEqual({ kind: 'not-yours', ownerId: '42' });
    expect(await s.press('b:ROWROWROWROWROW1:status', { userId: '42', chatId: '-1006' })).toEqual({ kind: 'elsewhere' });
    // An action the row never offered is no button of ours.
    expect(await s.press('b:ROWROWROWROWROW1:new', { userId: '42', chatId: '-1005' })).toEqual({ kind: 'expired' });
    // Once the key expired, the button is refused as expired.
    await redis.del(keys.button('telegram', 'ROWROWROWROWROW1'));
    expect(await s.press('b:ROWROWROWROWROW1:status', { userId: '42', chatId: '-1005' })).toEqual({ kind: 'expired' });
  });

  it('when a button stored before rows (one key per button, b:<id>) is pressed, then it still works until it expires', async () => {
    const { redis, keys, store: s } = store();
    await redis.set(keys.button('telegram', 'OLDBUTTON123'), JSON.stringify({ action: 'credits', platform: 'telegram', chatId: '-1005', userId: '42', threadId: '3' }));
    expect(parseLegacyCallbackData('b:OLDBUTTON123')).toEqual({ rowId: 'OLDBUTTON123' });
    expect(await s.press('b:OLDBUTTON123', { userId: '42', chatId: '-1005' })).toMatchObject({ kind: 'act', action: 'credits', target: { ownerId: '42', chatId: '-1005', threadId: '3' } });
  });

  it('when callback data is unknown, foreign or tampered with, then nothing acts', async () => {
    const { redis, keys, store: s } = store();
    expect(parseLegacyCallbackData('export')).toBeUndefined();
    expect(parseLegacyCallbackData('b:../../etc')).toBeUndefined();
    expect(parseLegacyCallbackData('b:AAAAAAAAAAAA:launch')).toBeUndefined();
    expect(await s.press('b:AAAAAAAAAAAA', { userId: '1', chatId: '1' })).toEqual({ kind: 'expired' });
    await redis.set(keys.button('telegram', 'BADJSON12345'), '{not json');
    expect(await s.readLegacy('BADJSON12345')).toBeUndefined();
    await redis.set(keys.button('telegram', 'WRONGSHAPE12'), JSON.stringify({ action: 'delete-everything', platform: 'telegram', chatId: '1', userId: '1' }));
    expect(await s.readLegacy('WRONGSHAPE12')).toBeUndefined();
    expect(await s.press('b:WRONGSHAPE12', { userId: '1', chatId: '1' })).toEqual({ kind: 'expired' });
  });
});
