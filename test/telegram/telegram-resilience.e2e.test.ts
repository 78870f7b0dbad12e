import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { inboxKey } from '../../src/core/inbox.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, WEBHOOK_SECRET, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;
/** A test that changes server settings runs on a redis-server of its own, stopped after the rig. */
let ownRedis: RedisServerHandle | undefined;

// The fake's violations include any request into a chat before Telegram's retry_after elapsed.
afterEach(async () => {
  const current = rig;
  const server = ownRedis;
  rig = ownRedis = undefined;
  try {
    if (current) await closeAndCheck(current);
  } finally {
    await server?.stop();
    if (server) await rm(server.dir, { recursive: true, force: true });
  }
});

const TOO_MANY = { code: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 };

describe('telegram under rate limits and restarts, end to end', () => {
  it('when sends and edits hit a 429 storm, then every message arrives once, in order, after retry_after', async () => {
    rig = await startTelegramRig();
    const { tg } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.failNext('sendMessage', TOO_MANY, 2);
    tg.failNext('editMessageText', TOO_MANY, 1);

    tg.say(chat, user, { text: '/start' });
    await rig.waitSent(chat.id, /^Ready!/, { timeoutMs: 15_000 });
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });
    const answer = await rig.waitSent(chat.id, /Keep them, or say/, { timeoutMs: 15_000 });

    const posted = rig.sentTo(chat.id);
    expect(posted.map((m) => m.history[0])).toEqual([
      'Setting things up…',
      expect.stringMatching(/^Ready!/),
      'Working on it…',
      // The generated clip, shown by URL before the answer (issue 15).
      'Raw clip, as generated (export for the final cut):',
      answer.history[0],
    ]);
    // The progress message, edited in place despite the 429, ends saying the generation is done.
    expect(posted[2]?.text).toBe('Done: video generated.');
    const refused = tg.calls.filter((c) => c.failed === 429);
    expect(refused.map((c) => c.method).sort()).toEqual(['editMessageText', 'sendMessage', 'sendMessage']);
    // Each refused call was tried again, no earlier than retry_after.
    for (const call of refused) {
      const retry = tg.calls.find((c) => c.at > call.at && c.method === call.method && c.failed === undefined && c.chatId === call.chatId);
      expect(retry).toBeDefined();
      expect((retry?.at ?? 0) - call.at).toBeGreaterThanOrEqual(990);
    }
  });

  it("when one chat is paused by a 429, then another chat's answer is not held up", async () => {
    rig = await startTelegramRig();
    const { tg } = rig;
    const paused = tg.user();
    const free = tg.user();
    const pausedChat = tg.privateChat(paused);
    const freeChat = tg.privateChat(free);
    tg.failNext('sendMessage', TOO_MANY, 1);
    tg.say(pausedChat, paused, { text: '/help' });
    await waitFor(() => tg.calls.some((c) => c.failed === 429), { message: 'the 429' });
    tg.say(freeChat, free, { text: '/help' });
    const freeAnswer = await rig.waitSent(freeChat.id, /\/export/);
    const pausedAnswer = await rig.waitSent(pausedChat.id, /\/export/);
    expect(freeAnswer.at).toBeLessThan(pausedAnswer.at);
  });

  it('when a button is pressed after the bot restarted, even under a message too old to read, then it still works', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });
    const answer = await rig.waitSent(chat.id, /Keep them, or say/);
    const buttons = answer.replyMarkup?.inline_keyboard.flat() ?? [];

    await rig.restartBot();

    const from = tg.sent.length;
    tg.press(user, answer, buttons.find((b) => b.text === 'Status')?.callback_data ?? '', { inaccessible: true });
    await rig.waitSent(chat.id, /Timeline \(3 tracks\)/, { from });
    tg.press(user, answer, buttons.find((b) => b.text === 'Export')?.callback_data ?? '');
    await waitFor(() => tg.sent.some((m) => m.kind === 'video'), { timeoutMs: 15_000, message: 'the video' });
    expect(nemo.sessions.size).toBe(1);
    expect(nemo.sseCalls).toHaveLength(1);
    expect(tg.callbackAnswers).toHaveLength(2);
  });

  it('when a button press was kept by a process that died before handling it, then the next process handles it, once; a handled press leaves nothing kept', async () => {
    // Keyspace events are a server-wide setting: this test turns them on in a server of its own.
    ownRedis = await startRedis();
    rig = await startTelegramRig({ redisUrl: ownRedis.url });
    const { tg } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });
    const answer = await rig.waitSent(chat.id, /Keep them, or say/);
    const status = answer.replyMarkup?.inline_keyboard.flat().find((b) => b.text === 'Status');
    const redis = new Redis(rig.redisUrl);
    // Redis tells what happens to the inbox: the press must be kept, then let go.
    const watcher = new Redis(rig.redisUrl);
    const inboxEvents: string[] = [];
    await redis.config('SET', 'notify-keyspace-events', 'Kh');
    await watcher.psubscribe(`__keyspace@*__:${inboxKey(rig.prefix)}`);
    watcher.on('pmessage', (_pattern, _channel, event: string) => inboxEvents.push(event));
    try {
      let from = tg.sent.length;
      tg.press(user, answer, status?.callback_data ?? '');
      await rig.waitSent(chat.id, /Timeline \(3 tracks\)/, { from });
      await rig.bot.idle();
      await waitFor(() => inboxEvents.includes('hdel'), { message: 'the press let go' });
      expect(inboxEvents.slice(0, 2)).toEqual(['hset', 'hdel']);
      expect(await redis.hkeys(inboxKey(rig.prefix))).toEqual([]);

      // A press a killed process had kept: its owner has no heartbeat.
      const kept = { messageId: answer.messageId, chatId: String(chat.id), chatKind: 'private', userId: String(user.id), text: '/status', files: [], addressed: true };
      await redis.hset(inboxKey(rig.prefix), 'telegram:987654', JSON.stringify({ owner: 'dead-process', payload: kept }));
      from = tg.sent.length;
      await rig.restartBot();
      await rig.waitSent(chat.id, /Timeline \(3 tracks\)/, { from });
      await rig.bot.idle();
      expect(rig.sentTo(chat.id).slice(from).filter((m) => /Timeline/.test(m.text ?? ''))).toHaveLength(1);
      expect(await redis.hkeys(inboxKey(rig.prefix))).toEqual([]);
    } finally {
      redis.disconnect();
      watcher.disconnect();
    }
  });

  it('when a button is unknown (expired), then the press is answered with a hint and nothing else happens', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user({ languageCode: 'en' });
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/help' });
    const help = await rig.waitSent(chat.id, /\/export/);
    tg.press(user, help, 'b:doesNotExist1');
    tg.press(user, help, 'something-else');
    await waitFor(() => tg.callbackAnswers.length === 2, { message: 'both presses answered' });
    expect(tg.callbackAnswers.map((a) => a.text)).toEqual([expect.stringMatching(/expired/), expect.stringMatching(/expired/)]);
    await rig.bot.idle();
    expect(rig.sentTo(chat.id)).toHaveLength(1);
    expect(nemo.sessions.size).toBe(0);
  });
});

describe('telegram webhook mode, end to end', () => {
  it('when updates come by webhook, then only those with the right secret are handled, and a redelivered update is handled once', async () => {
    rig = await startTelegramRig({ webhook: true });
    const { tg, nemo } = rig;
    expect(tg.webhook()).toEqual({ url: rig.webhookUrl, secret: WEBHOOK_SECRET });
    expect(tg.calls.some((c) => c.method === 'getUpdates')).toBe(false);

    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/help' });
    await rig.waitSent(chat.id, /\/export/);
    expect(tg.webhookDeliveries.map((d) => d.status)).toEqual([200]);

    const forged = {
      update_id: 990_001,
      message: { message_id: 77, date: 1, chat: { id: chat.id, type: 'private' }, from: user, text: 'hello from a forger' },
    };
    const post = async (headers: Record<string, string>, body: unknown = forged) => {
      const answer = await request(rig?.webhookUrl ?? '', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      await answer.body.dump();
      return answer.statusCode;
    };
    expect(await post({ 'x-telegram-bot-api-secret-token': 'wrong-secret' })).toBe(403);
    expect(await post({})).toBe(403);

    const genuine = { ...forged, update_id: 990_002, message: { ...forged.message, message_id: 78, text: 'hello for real' } };
    expect(await post({ 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET }, genuine)).toBe(200);
    expect(await post({ 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET }, genuine)).toBe(200);
    await rig.waitSent(chat.id, /Happy to help with: hello for real/);
    await rig.bot.idle();
    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['hello for real']);
  });
});
