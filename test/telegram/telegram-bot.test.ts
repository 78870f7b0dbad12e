import { PassThrough, Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { TelegramStartError } from '../../adapters/telegram/errors.js';
import { startTelegramBot, type TelegramBot, type TelegramBotDeps } from '../../adapters/telegram/telegram-bot.js';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { Inbox } from '../../src/core/inbox.js';
import type { IncomingMessage, MessageHandler } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { TEST_PACING } from './telegram-harness.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The adapter alone, with a handler that records what it is handed (the e2e tests use the engine). */
async function setup(options: { handler?: (message: IncomingMessage) => Promise<void>; deps?: Partial<TelegramBotDeps>; start?: boolean } = {}) {
  const tg = await startFakeTelegram();
  const { url, prefix } = testRedis();
  const redis = new Redis(url);
  let logs = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination: stream });
  const outbox = new TelegramOutbox({ token: tg.token, apiRoot: tg.url, maxUploadBytes: 50 * 1024 * 1024, logger, pacing: TEST_PACING });
  const handled: IncomingMessage[] = [];
  const handler: MessageHandler = {
    handle: async (message) => {
      handled.push(message);
      await options.handler?.(message);
    },
  };
  const bots: TelegramBot[] = [];
  const start = (deps: Partial<TelegramBotDeps> = {}) => {
    // As in production: each start is a new process, with an inbox of its own.
    const bot = startTelegramBot({ token: tg.token, apiRoot: tg.url, handler, redis, keys: createRedisKeys(prefix), logger, outbox, inbox: new Inbox(redis, createRedisKeys(prefix)), ...options.deps, ...deps });
    bots.push(bot);
    return bot;
  };
  cleanups.push(async () => {
    for (const bot of bots) await bot.stop();
    outbox.close();
    redis.disconnect();
    await tg.close();
  });
  return { tg, start, handled, logs: () => logs, outbox };
}

async function polling(tg: FakeTelegram, bot: TelegramBot): Promise<void> {
  await bot.ready;
  await tg.polling();
}

describe('startTelegramBot', () => {
  it("when one user's handling never finishes, then the polling loop still hands off everyone else's messages", async () => {
    const never = new Promise<void>(() => undefined);
    const { tg, start, handled } = await setup({ handler: (m) => (m.text === 'stuck' ? never : Promise.resolve()) });
    const bot = start();
    await polling(tg, bot);
    const stuck = tg.user();
    const other = tg.user();
    tg.say(tg.privateChat(stuck), stuck, { text: 'stuck' });
    await waitFor(() => handled.length === 1, { message: 'the first message handed off' });
    tg.say(tg.privateChat(other), other, { text: 'hello' });
    tg.say(tg.privateChat(other), other, { text: 'hello again' });
    await waitFor(() => handled.length === 3, { message: 'later messages handed off' });
    expect(handled.map((m) => m.text)).toEqual(['stuck', 'hello', 'hello again']);
    // telegraf confirmed the batches: it polled again while the first handling still ran.
    await waitFor(() => tg.unconfirmed() === 0, { message: 'updates confirmed' });
  });

  it('when handling a message fails, then the bot logs it and goes on with the next one', async () => {
    const { tg, start, handled, logs } = await setup({ handler: (m) => (m.text === 'boom' ? Promise.reject(new Error('engine exploded')) : Promise.resolve()) });
    const bot = start();
    await polling(tg, bot);
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'boom' });
    tg.say(chat, user, { text: 'still here?' });
    await waitFor(() => handled.length === 2, { message: 'both messages handed off' });
    await bot.idle();
    expect(logs()).toMatch(/message hand-off failed/);
    expect(logs()).toMatch(/engine exploded/);
    // The person is told, as on Discord; the message that went fine gets no apology.
    const told = tg.calls.filter((c) => c.method === 'sendMessage').map((c) => c.params.text);
    expect(told).toEqual(['Something went wrong on my side. Please try again.']);
  });

  it('when Redis fails while a message is kept, then a warning is logged and the message reaches the engine without an inbox id', async () => {
    const { url, prefix } = testRedis();
    // Its own connection, cut once the bot is ready: the heartbeat started, the next admit fails.
    const inboxRedis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    inboxRedis.on('error', () => undefined);
    const { tg, start, handled, logs } = await setup();
    const bot = start({ inbox: new Inbox(inboxRedis, createRedisKeys(prefix)) });
    await polling(tg, bot);
    inboxRedis.disconnect();
    const user = tg.user();
    tg.say(tg.privateChat(user), user, { text: 'hello' });
    await waitFor(() => handled.length === 1, { message: 'the message handed off' });
    // Nothing was kept, so no id of an entry that was never stored is passed on.
    expect(handled[0]?.inboxId).toBeUndefined();
    expect(logs()).toMatch(/inbox unavailable: handing the message over without it/);
  });

  it('when the bot polls, then it asks only for messages and button presses, and stop() ends polling with the offset confirmed', async () => {
    const { tg, start, handled } = await setup();
    const bot = start();
    await polling(tg, bot);
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'before stop' });
    await waitFor(() => handled.length === 1, { message: 'handed off' });
    const poll = tg.calls.find((c) => c.method === 'getUpdates');
    expect(poll?.params.allowed_updates).toEqual(['message', 'callback_query']);
    await bot.stop();
    expect(tg.unconfirmed()).toBe(0);

    tg.say(chat, user, { text: 'while stopped' });
    const again = start();
    await polling(tg, again);
    await waitFor(() => handled.length === 2, { message: 'the message sent while stopped' });
    expect(handled.map((m) => m.text)).toEqual(['before stop', 'while stopped']);
  });

  it('when the token is refused, then ready rejects with telegram_start_failed and the error holds no token', async () => {
    const { start, tg } = await setup();
    const bot = start({ token: '123456789:AAwrongwrongwrongwrongwrongwrong12345' });
    const error = await bot.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelegramStartError);
    expect((error as TelegramStartError).code).toBe('telegram_start_failed');
    expect((error as Error).message).toMatch(/401/);
    expect((error as Error).message).not.toContain('AAwrongwrong');
    expect(tg.calls.filter((c) => c.method === 'getUpdates')).toHaveLength(0);
  });

  it('when webhook mode has no secret, then the bot refuses to start', async () => {
    const { start } = await setup();
    expect(() => start({ webhook: { url: 'https://bot.example.com/hook', secret: ' ' } })).toThrow(TelegramStartError);
  });

  it('when webhook mode serves its own port, then Telegram is told the URL and secret, and only the right secret gets in', async () => {
    const { tg, start, handled } = await setup();
    const bot = start({ webhook: { url: 'https://bot.example.com/tg/hook?x=1', secret: 'S3cret_value', port: 0, host: '127.0.0.1' } });
    await bot.ready;
    expect(tg.webhook()).toEqual({ url: 'https://bot.example.com/tg/hook?x=1', secret: 'S3cret_value' });
    expect(bot.webhook?.path).toBe('/tg/hook?x=1');
    const user = tg.user();
    const update = { update_id: 5, message: { message_id: 1, date: 1, chat: { id: user.id, type: 'private' }, from: user, text: 'via webhook' } };
    const post = async (path: string, secret: string) => {
      const answer = await request(`http://127.0.0.1:${bot.webhook?.port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify(update),
      });
      await answer.body.dump();
      return answer.statusCode;
    };
    expect(await post('/tg/hook?x=1', 'nope')).toBe(403);
    expect(await post('/elsewhere', 'S3cret_value')).toBe(403);
    expect(await post('/tg/hook?x=1', 'S3cret_value')).toBe(200);
    await waitFor(() => handled.length === 1, { message: 'the update handed off' });
    expect(handled[0]?.text).toBe('via webhook');
    expect(tg.calls.filter((c) => c.method === 'getUpdates')).toHaveLength(0);
  });

  it('when webhook posts carry a wrong or no secret, then each is refused and counted, and the log says so once, without the secret', async () => {
    const { tg, start, logs } = await setup();
    const refusals: string[] = [];
    const bot = start({ webhook: { url: 'https://bot.example.com/hook', secret: 'S3cret_value', port: 0, host: '127.0.0.1' }, onWebhookRefused: (reason) => refusals.push(reason) });
    await bot.ready;
    const user = tg.user();
    const update = { update_id: 6, message: { message_id: 1, date: 1, chat: { id: user.id, type: 'private' }, from: user, text: 'forged' } };
    for (const secret of ['guess-number-1', 'guess-number-2', undefined]) {
      const answer = await request(`http://127.0.0.1:${bot.webhook?.port}/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
        body: JSON.stringify(update),
      });
      await answer.body.dump();
      expect(answer.statusCode).toBe(403);
    }
    expect(refusals).toEqual(['secret', 'secret', 'secret']);
    const lines = logs().split('\n').filter((line) => line.includes('telegram webhook post refused'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ reason: 'secret', refused: 1 });
    expect(logs()).not.toMatch(/guess-number|S3cret_value/);
  });

  it('when a webhook body is over 1 MB, not JSON, null or not an update, then it is answered 413 or 400 (never 500) and a good update still gets in', async () => {
    const { tg, start, handled } = await setup();
    const refusals: string[] = [];
    const bot = start({ webhook: { url: 'https://bot.example.com/hook', secret: 'S3cret_value', port: 0, host: '127.0.0.1' }, onWebhookRefused: (reason) => refusals.push(reason) });
    await bot.ready;
    const post = async (body: string | Buffer, chunked = false) => {
      const answer = await request(`http://127.0.0.1:${bot.webhook?.port}/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'S3cret_value' },
        // Without a Content-Length the cap must hold while reading.
        body: chunked ? Readable.from([body]) : body,
      });
      await answer.body.dump();
      return answer.statusCode;
    };
    const huge = JSON.stringify({ update_id: 7, padding: 'x'.repeat(1_100_000) });
    expect(await post(huge)).toBe(413);
    expect(await post(huge, true)).toBe(413);
    expect(await post('null')).toBe(400);
    expect(await post('[1, 2]')).toBe(400);
    expect(await post('{"update_id": "7"}')).toBe(400);
    expect(await post('{not json')).toBe(400);
    expect(refusals).toEqual(['too_large', 'too_large', 'malformed', 'malformed', 'malformed', 'malformed']);

    const user = tg.user();
    const update = { update_id: 8, message: { message_id: 1, date: 1, chat: { id: user.id, type: 'private' }, from: user, text: 'still fine' } };
    expect(await post(JSON.stringify(update))).toBe(200);
    await waitFor(() => handled.length === 1, { message: 'the good update handed off' });
    expect(handled[0]?.text).toBe('still fine');
  });

  it('when a group message is handed off, then it is marked as from a group and deleteOriginal deletes it', async () => {
    const { tg, start, handled } = await setup();
    const bot = start();
    await polling(tg, bot);
    const user = tg.user();
    const group = tg.group();
    const sent = tg.say(group, user, { text: '/export' });
    await waitFor(() => handled.length === 1, { message: 'handed off' });
    expect(handled[0]?.chatKind).toBe('group');
    await handled[0]?.deleteOriginal?.();
    expect(tg.calls.find((c) => c.method === 'deleteMessage')?.params).toMatchObject({ chat_id: String(group.id), message_id: sent.message_id });
  });
});
