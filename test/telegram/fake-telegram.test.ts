import { randomBytes } from 'node:crypto';
import { Telegram, TelegramError } from 'telegraf';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';

let tg: FakeTelegram | undefined;
afterEach(async () => {
  await tg?.close();
  tg = undefined;
});

async function call(fake: FakeTelegram, method: string, body: unknown, token = fake.token): Promise<{ status: number; json: { ok: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } } }> {
  const answer = await request(`${fake.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: answer.statusCode, json: (await answer.body.json()) as never };
}

const ids = (result: unknown) => (result as Array<{ update_id: number }>).map((u) => u.update_id);

describe('fake Telegram Bot API', () => {
  it('when updates are fetched, then they stay until a higher offset confirms them', async () => {
    tg = await startFakeTelegram();
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'one' });
    tg.say(chat, user, { text: 'two' });
    const first = await call(tg, 'getUpdates', { offset: 0, timeout: 0 });
    expect(first.json.ok).toBe(true);
    const [a, b] = ids(first.json.result);
    expect((await call(tg, 'getUpdates', { offset: 0, timeout: 0 })).json.result).toHaveLength(2);
    const after = await call(tg, 'getUpdates', { offset: (a ?? 0) + 1, timeout: 0 });
    expect(ids(after.json.result)).toEqual([b]);
    expect(tg.unconfirmed()).toBe(1);
  });

  it('when a long poll waits, then it answers as soon as an update arrives; a second poller ends the first with 409', async () => {
    tg = await startFakeTelegram();
    const fake = tg;
    const waiting = call(fake, 'getUpdates', { offset: 0, timeout: 30 });
    await fake.polling();
    const user = fake.user();
    fake.say(fake.privateChat(user), user, { text: 'wake up' });
    const answer = await waiting;
    expect(ids(answer.json.result)).toHaveLength(1);

    const [id] = ids(answer.json.result);
    const older = call(fake, 'getUpdates', { offset: (id ?? 0) + 1, timeout: 30 });
    await fake.polling();
    const newer = call(fake, 'getUpdates', { offset: (id ?? 0) + 1, timeout: 0 });
    expect((await older).status).toBe(409);
    expect((await newer).json.result).toEqual([]);
  });

  it('when a webhook is set, then getUpdates answers 409 until it is deleted', async () => {
    tg = await startFakeTelegram();
    expect((await call(tg, 'setWebhook', { url: 'http://127.0.0.1:9/hook', secret_token: 'abc' })).json.result).toBe(true);
    expect(tg.webhook()).toEqual({ url: 'http://127.0.0.1:9/hook', secret: 'abc' });
    expect((await call(tg, 'getUpdates', { timeout: 0 })).status).toBe(409);
    await call(tg, 'deleteWebhook', {});
    expect((await call(tg, 'getUpdates', { timeout: 0 })).status).toBe(200);
  });

  it('when the token is wrong, then every method answers 401', async () => {
    tg = await startFakeTelegram();
    expect((await call(tg, 'getMe', {}, '1:wrong')).json).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
  });

  it('when a 429 is scripted, then it carries retry_after and a write to that chat before it elapsed is a violation', async () => {
    tg = await startFakeTelegram();
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.failNext('sendMessage', { code: 429, description: 'Too Many Requests: retry after 2', retryAfter: 2 });
    const refused = await call(tg, 'sendMessage', { chat_id: chat.id, text: 'a' });
    expect(refused.status).toBe(429);
    expect(refused.json.parameters).toEqual({ retry_after: 2 });
    const early = await call(tg, 'sendMessage', { chat_id: chat.id, text: 'b' });
    expect(early.status).toBe(429);
    expect(tg.violations).toEqual([expect.stringMatching(/^sendMessage to chat \d+ \d+ ms before retry_after elapsed$/)]);
    expect(tg.sent).toHaveLength(0);
  });

  it('when the real client edits, uploads and fetches files, then the fake answers as Telegram does', async () => {
    tg = await startFakeTelegram({ maxUploadBytes: 1024 });
    const telegram = new Telegram(tg.token, { apiRoot: `${tg.url}/` });
    const user = tg.user();
    const chat = tg.privateChat(user);
    const sent = await telegram.sendMessage(chat.id, 'hello');
    await telegram.editMessageText(chat.id, sent.message_id, undefined, 'hello again');
    const notModified = await telegram.editMessageText(chat.id, sent.message_id, undefined, 'hello again').catch((e: unknown) => e);
    expect(notModified).toBeInstanceOf(TelegramError);
    expect((notModified as TelegramError).description).toMatch(/message is not modified/);
    expect(tg.sent[0]?.history).toEqual(['hello', 'hello again']);

    const tooBig = await telegram.sendVideo(chat.id, { source: randomBytes(4096), filename: 'v.mp4' }).catch((e: unknown) => e);
    expect((tooBig as TelegramError).code).toBe(413);
    const small = await telegram.sendDocument(chat.id, { source: Buffer.from('tiny'), filename: 'a.txt' }, { caption: 'doc' });
    expect(small.document.file_name).toBe('a.txt');
    expect(tg.sent.at(-1)?.file?.bytes.toString()).toBe('tiny');

    const big = tg.file({ size: 21 * 1024 * 1024 });
    const refused = await telegram.getFile(big.file_id).catch((e: unknown) => e);
    expect((refused as TelegramError).description).toBe('Bad Request: file is too big');
    const fine = tg.file({ bytes: Buffer.from('content') });
    const info = await telegram.getFile(fine.file_id);
    const download = await request(`${tg.url}/file/bot${tg.token}/${info.file_path}`);
    expect(await download.body.text()).toBe('content');

    await telegram.setMyCommands([{ command: 'start', description: 'Start' }], { language_code: 'zh' });
    expect(tg.commands.get('zh')).toEqual([{ command: 'start', description: 'Start' }]);
    const bad = await telegram.setMyCommands([{ command: 'Bad Command', description: '' }]).catch((e: unknown) => e);
    expect((bad as TelegramError).code).toBe(400);
    expect(tg.violations).toHaveLength(1);
  });
});
