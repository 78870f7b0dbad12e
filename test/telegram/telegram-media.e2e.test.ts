import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { NormalizedMessage } from '../../adapters/telegram/normalize.js';
import { inboxKey } from '../../src/core/inbox.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { makeVoiceNote, probe } from '../helpers/audio.js';
import type { FakeFile, MediaKind } from '../fakes/telegram/index.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const MB = 1024 * 1024;

describe('telegram attachments, end to end', () => {
  it('when a user sends each kind of media, then each is downloaded and streamed to NemoVideo byte for byte', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/start' });
    await rig.waitSent(chat.id, /^Hi! I make/);

    const kinds: Array<{ kind: MediaKind; file: FakeFile; fileName?: string; mimeType?: string; expect: RegExp }> = [
      { kind: 'video', file: tg.file({ bytes: FIXTURE_MP4 }), fileName: 'beach.mp4', expect: /^beach\.mp4$/ },
      { kind: 'video_note', file: tg.file({ bytes: FIXTURE_MP4 }), expect: /^video_note_.+\.mp4$/ },
      { kind: 'animation', file: tg.file({ bytes: FIXTURE_MP4 }), expect: /^funny\.gif\.mp4$/ },
      { kind: 'photo', file: tg.file({ bytes: Buffer.from('JPEG-bytes-of-a-photo') }), expect: /^photo_.+\.jpg$/ },
      { kind: 'audio', file: tg.file({ bytes: Buffer.from('ID3-a-song') }), fileName: 'song.mp3', expect: /^song\.mp3$/ },
      { kind: 'document', file: tg.file({ bytes: FIXTURE_MP4 }), fileName: 'clip.mov', mimeType: 'video/quicktime', expect: /^clip\.mov$/ },
    ];
    for (const item of kinds) {
      const from = tg.sent.length;
      tg.say(chat, user, { media: { kind: item.kind, file: item.file, ...(item.fileName ? { fileName: item.fileName } : {}), ...(item.mimeType ? { mimeType: item.mimeType } : {}) } });
      await rig.waitSent(chat.id, /^Uploaded: /, { from });
    }
    expect(nemo.uploads).toHaveLength(kinds.length);
    kinds.forEach((item, i) => {
      expect(nemo.uploads[i]?.filename).toMatch(item.expect);
      expect(nemo.uploads[i]?.sha256).toBe(tg.fileSha256(item.file));
    });
    // The photo is the largest size Telegram offered, never the thumbnail.
    const photoDownload = tg.downloads.find((d) => d.fileId === kinds[3]?.file.file_id);
    expect(photoDownload?.complete).toBe(true);

    expect(nemo.sseCalls).toHaveLength(0);
  });

  it('when a user sends a voice note, then it is converted to AAC and uploaded as an .m4a', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    const note = tg.file({ bytes: await makeVoiceNote() });
    tg.say(chat, user, { caption: 'use this as the narration', media: { kind: 'voice', file: note } });

    await rig.waitSent(chat.id, /Happy to help with: use this as the narration/);
    expect(nemo.uploads).toHaveLength(1);
    const upload = nemo.uploads[0];
    expect(upload?.filename).toMatch(/^voice_.+\.m4a$/);
    // What NemoVideo got is the conversion, not the Ogg.
    expect(upload?.sha256).not.toBe(tg.fileSha256(note));
    const bytes = nemo.uploadHead(upload?.sha256 ?? '') ?? Buffer.alloc(0);
    expect(bytes.length).toBe(upload?.size);
    expect(await probe(bytes)).toEqual({ codecs: ['aac'], format: expect.stringMatching(/m4a/), brand: 'M4A ' });
    expect(rig.sentTo(chat.id).some((m) => (m.text ?? '').startsWith(`Uploaded: ${upload?.filename ?? '?'}`))).toBe(true);
    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['use this as the narration']);
  });

  it('when a voice note cannot be converted, then the user is told so in their language and the log says why', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user({ languageCode: 'zh-hans' });
    const chat = tg.privateChat(user);
    const broken = tg.file({ bytes: Buffer.from('OggS-but-not-really-a-voice-note') });
    tg.say(chat, user, { media: { kind: 'voice', file: broken } });

    const told = await rig.waitSent(chat.id, /无法转换语音消息/);
    expect(told.text).toMatch(/“voice_.+\.ogg”/);
    expect(told.text).toContain('mp3, wav, m4a, aac');
    await rig.bot.idle();
    expect(nemo.uploads).toEqual([]);
    expect(nemo.sseCalls).toEqual([]);
    // ffmpeg's own reason is logged, never the file's bytes.
    expect(rig.logs()).toMatch(/voice_note_unconvertible.*ffmpeg exited with/);
    expect(rig.logs()).not.toContain('OggS-but-not-really');
  });

  it('when a user sends a text document with a caption, then its text and the caption go to the agent and nothing is uploaded', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    const doc = tg.file({ bytes: Buffer.from('# Paradise Found\n\nA quiet island where the sea meets the sky.') });
    tg.say(chat, user, { caption: 'turn this into a 30-second explainer', media: { kind: 'document', file: doc, fileName: 'intro.md', mimeType: 'text/markdown' } });
    await rig.waitSent(chat.id, /Happy to help with/);
    expect(nemo.sseCalls[0]?.text).toMatch(/^turn this into a 30-second explainer/);
    expect(nemo.sseCalls[0]?.text).toContain('A quiet island where the sea meets the sky.');
    expect(nemo.uploads).toHaveLength(0);
  });

  it('when a user sends an album with one caption, then it becomes one message: every file uploaded, the caption sent once', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    const files = [tg.file({ bytes: Buffer.from('first-photo') }), tg.file({ bytes: FIXTURE_MP4 }), tg.file({ bytes: Buffer.from('third-photo') })];
    tg.say(chat, user, { caption: 'use these for the intro', mediaGroupId: 'album-1', media: { kind: 'photo', file: files[0] as FakeFile } });
    tg.say(chat, user, { mediaGroupId: 'album-1', media: { kind: 'video', file: files[1] as FakeFile, fileName: 'middle.mp4' } });
    tg.say(chat, user, { mediaGroupId: 'album-1', media: { kind: 'photo', file: files[2] as FakeFile } });

    await rig.waitSent(chat.id, /Happy to help with: use these for the intro/);
    expect(nemo.uploads.map((u) => u.sha256)).toEqual(files.map((f) => tg.fileSha256(f)));
    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['use these for the intro']);
    expect(rig.sentTo(chat.id).filter((m) => /^Uploaded: /.test(m.text ?? ''))).toHaveLength(1);
    expect(nemo.sessions.size).toBe(1);
  });

  it.each([
    ['still gathering its parts', 'gathering'],
    ['holding the whole album, not yet handed to the engine', 'taken'],
  ] as const)('when the process that was %s died, then the next one hands the album on, once', async (_, stage) => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    const files = [tg.file({ bytes: Buffer.from('lost-photo-one') }), tg.file({ bytes: Buffer.from('lost-photo-two') })];
    const parts: NormalizedMessage[] = files.map((file, i) => ({
      messageId: 500 + i,
      chatId: String(chat.id),
      chatKind: 'private',
      userId: String(user.id),
      text: i === 0 ? 'make these into a slideshow' : '',
      files: [{ kind: 'photo', fileId: file.file_id, uniqueId: file.file_unique_id, name: `photo_${i}.jpg`, mimeType: 'image/jpeg', size: file.file_size }],
      addressed: true,
      mediaGroupId: 'lost-album',
    }));
    // What a dead process leaves behind: its parts, quiet for 25 s with nobody's timer on them
    // (indexed as abandoned 5 s ago), or the album it took into the inbox, under an owner with no heartbeat.
    const redis = new Redis(rig.redisUrl);
    const keys = createRedisKeys(rig.prefix);
    const partsKey = keys.telegramAlbum(chat.id, 'lost-album');
    if (stage === 'gathering') {
      await redis.rpush(partsKey, ...parts.map((part) => JSON.stringify(part)));
      await redis.pexpire(partsKey, 10 * 60_000 - 25_000);
      await redis.zadd(keys.telegramAlbumIndexOf(partsKey), Date.now() - 5_000, keys.telegramAlbumId(partsKey));
    } else {
      await redis.hset(inboxKey(rig.prefix), `telegram:album:${chat.id}:lost-album`, JSON.stringify({ owner: 'dead-process', payload: parts }));
    }

    await rig.restartBot();
    await rig.waitSent(chat.id, /Happy to help with: make these into a slideshow/);
    expect(nemo.uploads.map((u) => u.sha256).sort()).toEqual(files.map((f) => tg.fileSha256(f)).sort());
    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['make these into a slideshow']);
    expect(await redis.exists(partsKey)).toBe(0);
    expect(await redis.hkeys(inboxKey(rig.prefix))).toEqual([]);
    // Nothing left in the indexes the sweeps read.
    expect(await redis.exists(keys.telegramAlbumIndexOf(partsKey), keys.inboxIndexOf(keys.inbox()))).toBe(0);
    redis.disconnect();
  });

  it('when an album in a group mentions the bot only in its last part, then the whole album is taken', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const group = tg.group();
    // An album nobody addressed the bot in is left alone (it is complete before the next one).
    tg.say(group, user, { mediaGroupId: 'other', media: { kind: 'photo', file: tg.file({ bytes: Buffer.from('three') }) } });
    tg.say(group, user, { mediaGroupId: 'g-album', media: { kind: 'photo', file: tg.file({ bytes: Buffer.from('one') }) } });
    tg.say(group, user, { mediaGroupId: 'g-album', caption: `@${tg.bot.username} these two`, media: { kind: 'photo', file: tg.file({ bytes: Buffer.from('two') }) } });
    await rig.waitSent(group.id, /Happy to help with: these two/);
    await rig.bot.idle();
    expect(nemo.uploads).toHaveLength(2);
  });

  it('when a file is over the 20 MB download limit, then the user is told to send a link and nothing is downloaded', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    const big = tg.file({ size: 25 * MB });
    tg.say(chat, user, { caption: 'use this', media: { kind: 'video', file: big, fileName: 'holiday.mp4' } });
    const told = await rig.waitSent(chat.id, /20 MB/);
    expect(told.text).toMatch(/"holiday\.mp4" is 25 MB/);
    expect(told.text).toMatch(/\/upload <link>/);
    await rig.bot.idle();
    expect(tg.calls.filter((c) => c.method === 'getFile')).toHaveLength(0);
    expect(tg.downloads).toHaveLength(0);
    expect(nemo.uploads).toHaveLength(0);
    // The caption was about the refused file: it is not sent to the agent on its own.
    expect(nemo.sseCalls).toHaveLength(0);
  });

  it('when the message does not say how large a file is, then getFile tells, and a file over the limit is explained without a download', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { media: { kind: 'document', file: tg.file({ size: 30 * MB }), fileName: 'raw.mov', omitSize: true } });
    const told = await rig.waitSent(chat.id, /over 20 MB/);
    expect(told.text).toMatch(/"raw\.mov" is over 20 MB/);
    const small = tg.file({ bytes: FIXTURE_MP4 });
    tg.say(chat, user, { media: { kind: 'document', file: small, fileName: 'small.mp4', omitSize: true } });
    await rig.waitSent(chat.id, /^Uploaded: small\.mp4/);
    expect(nemo.uploads.map((u) => u.sha256)).toEqual([tg.fileSha256(small)]);
    expect(tg.downloads.map((d) => d.fileId)).toEqual([small.file_id]);
  });

  it('when a file type is not supported, then the user is told which types are, and nothing is downloaded', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { media: { kind: 'document', file: tg.file({ size: 3 * MB }), fileName: 'project.zip', mimeType: 'application/zip' } });
    const told = await rig.waitSent(chat.id, /that file type isn't supported/);
    expect(told.text).toMatch(/"project\.zip"/);
    expect(told.text).toMatch(/mp4/);
    expect(tg.downloads).toHaveLength(0);
    expect(nemo.uploads).toHaveLength(0);
  });
});
