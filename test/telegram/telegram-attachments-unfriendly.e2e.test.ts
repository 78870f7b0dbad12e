import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

describe('telegram attachments when the Bot API does not cooperate, end to end', () => {
  it.each([
    ['getFile answers 500', (r: TelegramRig) => r.tg.failNext('getFile', { code: 500, description: 'Internal Server Error' }, 10)],
    ['the file URL answers 404', (r: TelegramRig) => r.tg.setUnfriendly({ downloads: 404 })],
  ])('when %s, then the user is told the file could not be fetched and the caption is not sent to the agent alone', async (_name, breakIt) => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/start' });
    await rig.waitSent(chat.id, /^Hi! I make/);
    breakIt(rig);

    const from = tg.sent.length;
    tg.say(chat, user, { caption: 'make it shorter', media: { kind: 'video', file: tg.file({ bytes: FIXTURE_MP4 }), fileName: 'beach.mp4', omitSize: true } });
    const told = await rig.waitSent(chat.id, /could not be fetched/, { from });
    await rig.bot.idle();

    expect(told.text).toMatch(/"beach\.mp4"/);
    expect(rig.sentTo(chat.id).slice(from).map((m) => m.text ?? '').join('\n')).not.toMatch(/Something went wrong|too large/);
    expect(nemo.uploads).toEqual([]);
    expect(nemo.sseCalls).toEqual([]);
  });

  it('when the file could not be fetched for a Chinese speaker, then the sentence is Chinese', async () => {
    rig = await startTelegramRig();
    const { tg } = rig;
    const user = tg.user({ languageCode: 'zh-hans' });
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/start' });
    await rig.waitSent(chat.id, /^你好！/);
    tg.setUnfriendly({ downloads: 500 });
    const from = tg.sent.length;
    tg.say(chat, user, { media: { kind: 'video', file: tg.file({ bytes: FIXTURE_MP4 }), fileName: 'beach.mp4' } });
    await rig.waitSent(chat.id, /无法从聊天平台获取“beach\.mp4”/, { from });
  });

  it('when neither the message nor getFile give the size, then the file is still uploaded, not called too large', async () => {
    rig = await startTelegramRig({ telegram: { unfriendly: { sizeless: true } } });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/start' });
    await rig.waitSent(chat.id, /^Hi! I make/);
    const file = tg.file({ bytes: FIXTURE_MP4 });
    const from = tg.sent.length;
    tg.say(chat, user, { caption: 'make it shorter', media: { kind: 'video', file, fileName: 'beach.mp4', omitSize: true } });

    await rig.waitSent(chat.id, /Happy to help with: make it shorter/, { from });
    expect(nemo.uploads.map((u) => [u.filename, u.size, u.sha256])).toEqual([['beach.mp4', FIXTURE_MP4.length, tg.fileSha256(file)]]);
    expect(rig.sentTo(chat.id).slice(from).map((m) => m.text ?? '').join('\n')).not.toMatch(/too large/);
    await waitFor(() => nemo.sseCalls.length === 1, { message: 'the caption with its file' });
  });
});
