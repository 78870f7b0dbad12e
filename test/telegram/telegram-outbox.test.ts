import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { telegramButtonStore } from '../../adapters/telegram/button-store.js';
import { SessionStore } from '../../src/core/session-store.js';
import { splitText, TelegramOutbox, VideoStreamError } from '../../adapters/telegram/telegram-outbox.js';
import { FileTooLargeForPlatformError, PlatformRateLimitedError, type ChatAddress, type VideoFile } from '../../src/core/types.js';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegramOptions } from '../fakes/telegram/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { TEST_PACING } from './telegram-harness.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { telegram?: FakeTelegramOptions; maxUploadBytes?: number; buttons?: boolean } = {}) {
  const tg = await startFakeTelegram(options.telegram);
  const { url, prefix } = testRedis();
  const redis = new Redis(url);
  const outbox = new TelegramOutbox({
    token: tg.token,
    apiRoot: tg.url,
    maxUploadBytes: options.maxUploadBytes ?? 50 * 1024 * 1024,
    logger: pino({ level: 'silent' }),
    pacing: TEST_PACING,
    chatActionIntervalMs: 20,
    ...(options.buttons ? { buttons: telegramButtonStore(redis, createRedisKeys(prefix)) } : {}),
  });
  cleanups.push(async () => {
    outbox.close();
    redis.disconnect();
    await tg.close();
  });
  const user = tg.user();
  const chat = tg.privateChat(user);
  const to: ChatAddress = { platform: 'telegram', chatId: String(chat.id), userId: String(user.id) };
  return { tg, outbox, user, chat, to, redis, prefix };
}

function video(bytes: Buffer, overrides: Partial<VideoFile> = {}): VideoFile {
  return { filename: 'render_1.mp4', size: bytes.length, stream: Readable.from([bytes]), caption: 'Video ready.', deliveryId: 'render_1', ...overrides };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('TelegramOutbox, texts', () => {
  it('when a text is sent, then it goes out as plain text without a link preview and its message id comes back', async () => {
    const { tg, outbox, to } = await setup();
    const id = await outbox.sendText(to, 'Hello *there* <b>');
    expect(tg.sent).toHaveLength(1);
    expect(id).toBe(String(tg.sent[0]?.messageId));
    expect(tg.sent[0]?.text).toBe('Hello *there* <b>');
    const call = tg.calls.find((c) => c.method === 'sendMessage');
    expect(call?.params.parse_mode).toBeUndefined();
    expect(call?.params.link_preview_options).toEqual({ is_disabled: true });
  });

  it('when the same text is set again by an edit, then "message is not modified" counts as success', async () => {
    const { tg, outbox, to } = await setup();
    const id = await outbox.sendText(to, 'Rendering… 10 %');
    await outbox.editText(to, id, 'Rendering… 50 %');
    await expect(outbox.editText(to, id, 'Rendering… 50 %')).resolves.toBeUndefined();
    expect(tg.calls.filter((c) => c.method === 'editMessageText').map((c) => c.failed)).toEqual([undefined, 400]);
    expect(tg.sent[0]?.history).toEqual(['Rendering… 10 %', 'Rendering… 50 %']);
  });

  it('when edits of one message queue up behind a pause, then they collapse into one edit with the newest text', async () => {
    const { tg, outbox, to } = await setup();
    const id = await outbox.sendText(to, 'Rendering… 0 %');
    tg.failNext('editMessageText', { code: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    const first = outbox.editText(to, id, 'Rendering… 10 %');
    await waitFor(() => tg.calls.some((c) => c.failed === 429), { message: 'the first edit paused by a 429' });
    const later = [20, 30, 40].map((p) => outbox.editText(to, id, `Rendering… ${p} %`));
    await Promise.all([first, ...later]);
    expect(tg.sent[0]?.history).toEqual(['Rendering… 0 %', 'Rendering… 10 %', 'Rendering… 40 %']);
    expect(tg.violations).toEqual([]);
  });

  it('when an edit fails for another reason (the message is gone), then the error reaches the caller', async () => {
    const { outbox, to } = await setup();
    await expect(outbox.editText(to, '999', 'x')).rejects.toThrow(/message to edit not found/);
  });

  it('when a text is longer than 4096 characters, then it is split at line breaks, in order, and the buttons sit under the last part', async () => {
    const { tg, outbox, to } = await setup({ buttons: true });
    const lines = Array.from({ length: 400 }, (_, i) => `${i}: ${'x'.repeat(20)}`);
    const id = await outbox.sendText(to, lines.join('\n'), { buttons: [{ label: 'Export', action: 'export' }], project: 'sess-1' });
    expect(tg.sent.length).toBeGreaterThanOrEqual(3);
    expect(tg.sent.map((m) => m.text).join('\n')).toBe(lines.join('\n'));
    expect(tg.sent.every((m) => (m.text ?? '').length <= 4096)).toBe(true);
    expect(tg.sent.slice(0, -1).every((m) => m.replyMarkup === undefined)).toBe(true);
    expect(tg.sent.at(-1)?.replyMarkup?.inline_keyboard.flat().map((b) => b.text)).toEqual(['Export']);
    expect(id).toBe(String(tg.sent.at(-1)?.messageId));
  });

  it('when buttons are sent, then their callback data names action, owner and project, writes no key, and a press by the owner acts', async () => {
    const { tg, outbox, to, redis, prefix } = await setup({ buttons: true });
    const keys = createRedisKeys(prefix);
    await new SessionStore(redis, keys).write(
      { platform: 'telegram', chatId: to.chatId, userId: to.userId },
      { taskId: 't', sessionId: 'sess-1', nemoUserId: 'n', language: 'en', createdAt: 1, updatedAt: 1 },
    );
    const keysBefore = await redis.dbsize();
    await outbox.sendText(to, 'Done.', {
      buttons: [
        { label: 'Export', action: 'export' },
        { label: 'Status', action: 'status' },
        { label: 'Credits', action: 'credits' },
        { label: 'New project', action: 'new' },
      ],
      project: 'sess-1',
    });
    expect(await redis.dbsize()).toBe(keysBefore);
    const rows = tg.sent[0]?.replyMarkup?.inline_keyboard ?? [];
    expect(rows.map((row) => row.length)).toEqual([2, 2]);
    const store = telegramButtonStore(redis, keys);
    const presses = await Promise.all(rows.flat().map((b) => store.press(b.callback_data ?? '', { userId: to.userId, chatId: to.chatId })));
    expect(presses.map((press) => (press.kind === 'act' ? press.action : press.kind))).toEqual(['export', 'status', 'credits', 'new']);
  });

  it('when buttons come without a project to name, then the text goes out without them', async () => {
    const { tg, outbox, to } = await setup({ buttons: true });
    await outbox.sendText(to, 'Done.', { buttons: [{ label: 'Export', action: 'export' }] });
    expect(tg.sent[0]?.text).toBe('Done.');
    expect(tg.sent[0]?.replyMarkup).toBeUndefined();
  });

  it('when Telegram refuses the markup, then the same text goes out as plain text without the keyboard', async () => {
    const { tg, outbox, to } = await setup({ buttons: true });
    tg.failNext('sendMessage', { code: 400, description: "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 5" });
    await outbox.sendText(to, 'Done_ with *it', { buttons: [{ label: 'Export', action: 'export' }], project: 'sess-1' });
    expect(tg.sent).toHaveLength(1);
    expect(tg.sent[0]?.text).toBe('Done_ with *it');
    expect(tg.sent[0]?.replyMarkup).toBeUndefined();
  });

  it('when the chat is a forum topic, then texts carry the topic; when the topic is gone, the text still reaches the chat', async () => {
    const { tg, outbox, user } = await setup();
    const forum = tg.group({ forum: true });
    const topic = tg.topic(forum, user, 'T');
    const to: ChatAddress = { platform: 'telegram', chatId: String(forum.id), userId: String(user.id), threadId: String(topic) };
    await outbox.sendText(to, 'in the topic');
    expect(tg.sent[0]?.threadId).toBe(topic);
    await outbox.sendText({ ...to, threadId: '424242' }, 'topic deleted meanwhile');
    expect(tg.sent[1]?.text).toBe('topic deleted meanwhile');
    expect(tg.sent[1]?.threadId).toBeUndefined();
  });

  it('when the address asks to quote a message that was deleted, then the text is still sent', async () => {
    const { tg, outbox, to } = await setup();
    await outbox.sendText({ ...to, extra: { replyTo: 12345 } }, 'answer');
    expect(tg.sent[0]?.text).toBe('answer');
  });

  it('when the bot token is wrong, then the error names no token', async () => {
    const { tg } = await setup();
    const wrong = new TelegramOutbox({ token: '123456:wrong-secret-value-that-is-long-enough', apiRoot: tg.url, maxUploadBytes: 1, logger: pino({ level: 'silent' }) });
    const error = (await wrong.sendText({ platform: 'telegram', chatId: '1', userId: '1' }, 'x').catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/401/);
    expect(String(error.message) + String(error.stack)).not.toContain('wrong-secret-value');
    wrong.close();
  });
});

describe('TelegramOutbox, videos', () => {
  it('when a video is sent, then it is streamed as multipart with supports_streaming and the caption, showing upload_video meanwhile', async () => {
    const { tg, outbox, to } = await setup();
    const stream = new PassThrough();
    const sending = outbox.sendVideo(to, { ...video(FIXTURE_MP4), stream });
    // The upload is under way before the last byte exists: the file is streamed, never held.
    stream.write(FIXTURE_MP4.subarray(0, 1000));
    await waitFor(() => tg.chatActions.length >= 2, { message: 'upload_video repeated while uploading' });
    stream.end(FIXTURE_MP4.subarray(1000));
    await sending;
    expect(tg.sent).toHaveLength(1);
    const sent = tg.sent[0];
    expect(sent?.kind).toBe('video');
    expect(sent?.file?.sha256).toBe(sha256(FIXTURE_MP4));
    expect(sent?.file?.filename).toBe('render_1.mp4');
    expect(sent?.supportsStreaming).toBe(true);
    expect(sent?.caption).toBe('Video ready.');
    expect(tg.chatActions.every((a) => a.action === 'upload_video' && a.chatId === to.chatId)).toBe(true);
    // The action stops with the upload (it repeats every 20 ms here: three periods show none).
    const count = tg.chatActions.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(tg.chatActions.length).toBe(count);
  });

  it('when the video goes to a forum topic in a group, then it lands in the topic, quoting the request', async () => {
    const { tg, outbox, user } = await setup();
    const forum = tg.group({ forum: true });
    const topic = tg.topic(forum, user, 'T');
    const request = tg.say(forum, user, { text: '/export', threadId: topic });
    const to: ChatAddress = { platform: 'telegram', chatId: String(forum.id), userId: String(user.id), threadId: String(topic), extra: { replyTo: request.message_id } };
    await outbox.sendVideo(to, video(FIXTURE_MP4));
    expect(tg.sent[0]?.threadId).toBe(topic);
    expect(tg.sent[0]?.replyTo).toBe(request.message_id);
  });

  it('when a video is larger than the upload limit, then FileTooLargeForPlatformError is thrown before any byte is sent', async () => {
    const { tg, outbox, to } = await setup({ maxUploadBytes: 1000 });
    const error = await outbox.sendVideo(to, video(FIXTURE_MP4)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileTooLargeForPlatformError);
    expect(tg.calls.filter((c) => c.method === 'sendVideo')).toHaveLength(0);
  });

  it('when Telegram answers 413, then FileTooLargeForPlatformError is thrown (the worker sends a link)', async () => {
    const { tg, outbox, to } = await setup({ telegram: { maxUploadBytes: 64 * 1024 } });
    const bytes = randomBytes(200 * 1024);
    const error = await outbox.sendVideo(to, video(bytes)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileTooLargeForPlatformError);
    expect((error as FileTooLargeForPlatformError).size).toBe(bytes.length);
    expect(tg.calls.find((c) => c.method === 'sendVideo')?.failed).toBe(413);
    expect(tg.sent).toHaveLength(0);
  });

  it('when the video stream ends short of its size, then the upload is aborted and nothing is posted', async () => {
    const { tg, outbox, to } = await setup();
    const error = await outbox.sendVideo(to, video(FIXTURE_MP4.subarray(0, 3000), { size: FIXTURE_MP4.length })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VideoStreamError);
    expect((error as VideoStreamError).code).toBe('video_stream_failed');
    // The multipart never got its closing boundary: the server cannot have taken a file.
    expect(tg.sent).toHaveLength(0);
    expect(tg.calls.filter((c) => c.method === 'sendVideo')).toHaveLength(0);
  });

  it('when the video stream fails midway, then the upload is aborted and the error reaches the caller', async () => {
    const { tg, outbox, to } = await setup();
    const stream = new PassThrough();
    const sending = outbox.sendVideo(to, { ...video(FIXTURE_MP4), stream });
    stream.write(FIXTURE_MP4.subarray(0, 1000));
    stream.destroy(new Error('CDN connection reset'));
    await expect(sending).rejects.toThrow(/CDN connection reset/);
    expect(tg.sent).toHaveLength(0);
  });

  it('when a video meets a 429, then it is not re-sent from a spent stream: a rate-limit error (a wait, not a refusal) is thrown and the chat pauses', async () => {
    const { tg, outbox, to } = await setup();
    tg.failNext('sendVideo', { code: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    const refused = outbox.sendVideo(to, video(FIXTURE_MP4));
    await expect(refused).rejects.toBeInstanceOf(PlatformRateLimitedError);
    await expect(refused).rejects.toMatchObject({ platform: 'telegram', retryAfterMs: 1000 });
    const started = Date.now();
    await outbox.sendText(to, 'after the pause');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(tg.violations).toEqual([]);
  });

  it('when the caption is longer than 1024 characters, then the video goes without it and the caption follows as a message', async () => {
    const { tg, outbox, to } = await setup();
    const caption = `Video ready. ${'y'.repeat(1100)}`;
    await outbox.sendVideo(to, video(FIXTURE_MP4, { caption }));
    expect(tg.sent.map((m) => m.kind)).toEqual(['video', 'text']);
    expect(tg.sent[0]?.caption).toBeUndefined();
    expect(tg.sent[1]?.text).toBe(caption);
  });
});

describe('splitText', () => {
  it('when a piece would end inside a surrogate pair, then the pair stays whole', () => {
    const text = `${'a'.repeat(9)}😀${'b'.repeat(5)}`;
    const pieces = splitText(text, 10);
    expect(pieces.join('')).toBe(text);
    expect(pieces.every((p) => p.length <= 10)).toBe(true);
    expect(pieces.some((p) => p.includes('😀'))).toBe(true);
  });

  it('when the text has no break near the limit, then it is cut hard and nothing is lost', () => {
    const text = 'z'.repeat(25);
    expect(splitText(text, 10)).toEqual(['z'.repeat(10), 'z'.repeat(10), 'z'.repeat(5)]);
  });
});
