import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { PollSetup } from '../../adapters/telegram/poll-protocol.js';
import { spawnPollThread, startUpdatePoller, type UpdatePoller, type UpdatePollerOptions } from '../../adapters/telegram/update-poller.js';
import { createLogger } from '../../src/log.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { waitFor } from '../helpers/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const OPEN = { allowedUsers: [], allowedChats: [], adminUsers: [] };

/** The poller alone against the fake Bot API; batches recorded, each handled by `handle` when given. */
async function setup(options: { handle?: (updates: unknown[]) => Promise<void>; poller?: Partial<UpdatePollerOptions>; fake?: (tg: FakeTelegram) => void } = {}) {
  const tg = await startFakeTelegram();
  options.fake?.(tg);
  let logs = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination: stream });
  const batches: Array<Array<{ update_id: number; message?: { text?: string } }>> = [];
  const poller: UpdatePoller = startUpdatePoller({
    api: { apiRoot: tg.url, token: tg.token },
    allowedUpdates: ['message', 'callback_query'],
    logger,
    onUpdates: async (updates) => {
      batches.push(updates as (typeof batches)[number]);
      await options.handle?.(updates);
    },
    sign: { identity: { id: tg.bot.id, username: tg.bot.username ?? '' }, access: OPEN, typingIntervalMs: 4_000 },
    ...options.poller,
  });
  cleanups.push(async () => {
    await poller.stop();
    await tg.close();
  });
  const texts = (): string[] => batches.flat().map((update) => update.message?.text ?? '');
  return { tg, poller, batches, texts, logs: () => logs };
}

describe('telegram intake thread', () => {
  it('when a person writes, then "typing…" goes out from the thread while the main thread has not finished with the batch, and the next poll waits for it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { tg, batches, texts } = await setup({ handle: () => held });
    await tg.polling();
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'make a video' });

    // Nothing on this thread has handled the batch: the sign came from the intake thread alone.
    await waitFor(() => tg.chatActions.some((action) => action.chatId === String(chat.id) && action.action === 'typing'), { message: 'typing from the thread' });
    expect(batches).toHaveLength(1);
    tg.say(chat, user, { text: 'second' });
    // The batch in hand is not confirmed, and the next update waits for the next poll.
    expect(tg.unconfirmed()).toBe(2);
    expect(texts()).toEqual(['make a video']);

    release();
    await waitFor(() => texts().length === 2, { message: 'the second message after the first batch was handled' });
    expect(texts()).toEqual(['make a video', 'second']);
    // One indicator per chat while it lasts, however many messages.
    expect(tg.chatActions.filter((action) => action.chatId === String(chat.id))).toHaveLength(1);
  });

  it('when a group member talks without addressing the bot, then the batch is handed over but no "typing…" shows', async () => {
    const { tg, texts } = await setup();
    await tg.polling();
    const user = tg.user();
    const quiet = tg.group();
    const asking = tg.group();
    tg.say(quiet, user, { text: 'just chatting' });
    await waitFor(() => texts().length === 1, { message: 'the group message handed over' });
    // The mention goes after the first batch was handed over: a sign for the first would be out by now.
    tg.say(asking, user, { text: `@${tg.bot.username} make a video` });
    await waitFor(() => tg.chatActions.length > 0, { message: 'typing for the mention' });
    await waitFor(() => texts().length === 2, { message: 'the mention handed over' });
    expect(tg.chatActions.map((action) => action.chatId)).toEqual([String(asking.id)]);
  });

  it('when the thread dies, then another starts, polls from the first update not handled, and the next message still arrives', async () => {
    const threads: Worker[] = [];
    const spawn = (setup: PollSetup): Worker => {
      const thread = spawnPollThread(setup);
      threads.push(thread);
      return thread;
    };
    const { tg, texts, logs } = await setup({ poller: { spawn } });
    await tg.polling();
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'before' });
    await waitFor(() => texts().length === 1, { message: 'the first message' });

    await threads[0]?.terminate();
    tg.say(chat, user, { text: 'after' });
    await waitFor(() => texts().includes('after'), { message: 'the message sent after the thread died' });
    expect(threads).toHaveLength(2);
    expect(texts()).toEqual(['before', 'after']);
    expect(logs()).toMatch(/telegram intake thread ended: starting it again/);
  });

  it('when Telegram answers 409 (another poller on the token), then polling ends with one error line that names no token', async () => {
    const { tg, poller, logs } = await setup({
      fake: (fake) => fake.failNext('getUpdates', { code: 409, description: 'Conflict: terminated by other getUpdates request' }),
    });
    await poller.done;
    expect(logs()).toMatch(/telegram polling stopped \(another poller on this token\?\)/);
    expect(logs()).toMatch(/Conflict/);
    expect(logs()).not.toContain(tg.token);
    const polls = tg.calls.filter((call) => call.method === 'getUpdates');
    expect(polls).toHaveLength(1);
  });

  it('when getUpdates fails with 500s, then it is polled again after the wait, and messages still arrive', async () => {
    const { tg, texts, logs } = await setup({
      poller: { retryMs: 20 },
      fake: (fake) => fake.failNext('getUpdates', { code: 500, description: 'Internal Server Error' }, 2),
    });
    const user = tg.user();
    tg.say(tg.privateChat(user), user, { text: 'through the outage' });
    await waitFor(() => texts().length === 1, { message: 'the message after two failed polls' });
    expect(logs().match(/telegram getUpdates failed; polling again soon/g)).toHaveLength(2);
    expect(logs()).not.toContain(tg.token);
  });

  it('when something in front of the Bot API answers getUpdates with a page instead of JSON, then it is polled again, no token is logged, and the message arrives once it answers properly', async () => {
    const { tg, texts, logs } = await setup({
      poller: { retryMs: 20 },
      fake: (fake) => fake.setUnfriendly({ unshaped: ['getUpdates'] }),
    });
    const user = tg.user();
    tg.say(tg.privateChat(user), user, { text: 'behind a proxy' });
    await waitFor(() => (logs().match(/telegram getUpdates failed; polling again soon/g) ?? []).length >= 2, { message: 'unshaped polls retried' });
    expect(texts()).toEqual([]);
    tg.setUnfriendly({});
    await waitFor(() => texts().length === 1, { message: 'the message once getUpdates answers properly' });
    expect(texts()).toEqual(['behind a proxy']);
    expect(logs()).not.toContain(tg.token);
  });

  it('when the Bot API takes a poll and never answers, then the poll is given up past its wait and asked again', async () => {
    const sockets = new Set<Socket>();
    let polls = 0;
    // Accepts, reads, says nothing: a connection gone silent behind a proxy.
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', (chunk) => (polls += (chunk.toString('latin1').match(/getUpdates/g) ?? []).length));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    let logs = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    const poller = startUpdatePoller({
      api: { apiRoot: `http://127.0.0.1:${port}`, token: '123:silent-token' },
      allowedUpdates: ['message'],
      logger: createLogger({ level: 'debug', destination: stream }),
      onUpdates: () => Promise.resolve(),
      timeoutSeconds: 0,
      silentGraceMs: 100,
      retryMs: 10,
    });
    cleanups.push(async () => {
      await poller.stop();
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    await waitFor(() => polls >= 3, { message: 'polls asked again after silence' });
    expect(logs).toMatch(/telegram getUpdates failed; polling again soon/);
    expect(logs).not.toContain('silent-token');
  });
});
