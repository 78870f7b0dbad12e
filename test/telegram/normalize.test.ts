import { describe, expect, it } from 'vitest';
import { mergeAlbum, normalizeMessage, TelegramMessageSchema, toIncomingMessage, type BotIdentity, type NormalizedMessage } from '../../adapters/telegram/normalize.js';
import { World } from '../fakes/telegram/world.js';
import type { TgMessage, UserContent } from '../fakes/telegram/index.js';

const ME: BotIdentity = { id: 7123456789, username: 'Nemo_Video_Bot' };

function setup() {
  const world = new World(ME.username, ME.id);
  const alice = world.user({ languageCode: 'pt-BR' });
  const group = world.group();
  const dm = world.privateChat(alice);
  return { world, alice, group, dm };
}

function normalized(message: TgMessage): NormalizedMessage | undefined {
  return normalizeMessage(TelegramMessageSchema.parse(message), ME);
}

function botSays(world: World, chatId: number, text: string): TgMessage {
  const chat = world.chats.get(String(chatId));
  if (!chat) throw new Error('no chat');
  const message: TgMessage = { message_id: world.messageId(String(chatId)), from: world.bot, chat, date: 1, text };
  world.store(message);
  return message;
}

describe('normalizeMessage', () => {
  it('when a private message arrives, then it is addressed, with the chat, the user and their language', () => {
    const { world, alice, dm } = setup();
    const out = normalized(world.userMessage(dm, alice, { text: 'make me a video' }));
    expect(out).toEqual({
      messageId: expect.any(Number),
      chatId: String(alice.id),
      chatKind: 'private',
      userId: String(alice.id),
      language: 'pt-BR',
      text: 'make me a video',
      files: [],
      addressed: true,
    });
  });

  it.each<[string, UserContent, boolean, string]>([
    ['plain chatter', { text: 'who wants pizza' }, false, 'who wants pizza'],
    ['a mention at the start', { text: '@Nemo_Video_Bot make a video' }, true, 'make a video'],
    ['a mention in another case, mid-sentence', { text: 'hey @nemo_video_bot, add music' }, true, 'hey, add music'],
    ['a mention of someone else', { text: '@someone_else make a video' }, false, '@someone_else make a video'],
    ['one of our commands', { text: '/export' }, true, '/export'],
    ['our command with our name', { text: '/status@Nemo_Video_Bot' }, true, '/status@Nemo_Video_Bot'],
    ["our command with another bot's name", { text: '/status@other_bot' }, false, '/status@other_bot'],
    ['a command that is not ours', { text: '/weather today' }, false, '/weather today'],
    ['a caption with a mention', { caption: '@Nemo_Video_Bot use this', media: { kind: 'photo', file: { file_id: 'x', file_unique_id: 'u', file_size: 3, file_path: 'p' } } }, true, 'use this'],
  ])('when a group message is %s, then addressed is %s', (_name, content, addressed, text) => {
    const { world, alice, group } = setup();
    const out = normalized(world.userMessage(group, alice, content));
    expect(out?.addressed).toBe(addressed);
    expect(out?.text).toBe(text);
    expect(out?.chatKind).toBe('group');
  });

  it('when a group message replies to the bot, then it is addressed; a reply to someone else is not', () => {
    const { world, alice, group } = setup();
    const bob = world.user();
    const fromBot = botSays(world, group.id, 'Ready!');
    const fromBob = world.userMessage(group, bob, { text: 'hi' });
    expect(normalized(world.userMessage(group, alice, { text: 'make it blue', replyTo: fromBot.message_id }))?.addressed).toBe(true);
    expect(normalized(world.userMessage(group, alice, { text: 'make it blue', replyTo: fromBob.message_id }))?.addressed).toBe(false);
  });

  it("when a message is in a forum topic the bot opened, then the topic's first message does not count as a reply to the bot", () => {
    const { world, alice } = setup();
    const forum = world.group({ forum: true });
    const topic = world.topic(forum, world.bot, 'Bot topic');
    const out = normalized(world.userMessage(forum, alice, { text: 'chatting here', threadId: topic }));
    expect(out?.addressed).toBe(false);
    expect(out?.threadId).toBe(String(topic));
  });

  it('when a supergroup reply carries message_thread_id outside a forum, then no thread is kept', () => {
    const { world, alice, group } = setup();
    const message = world.userMessage(group, alice, { text: '/help' });
    message.message_thread_id = 42;
    expect(normalized(message)?.threadId).toBeUndefined();
  });

  it('when each kind of media arrives, then it becomes one file with a name, a MIME type and the size from the message', () => {
    const { world, alice, dm } = setup();
    const file = (size: number) => world.file({ size });
    const cases: Array<[UserContent['media'], { kind: string; name: RegExp; mimeType: string; size: number }]> = [
      [{ kind: 'document', file: file(10), fileName: 'brief.pdf', mimeType: 'application/pdf' }, { kind: 'document', name: /^brief\.pdf$/, mimeType: 'application/pdf', size: 10 }],
      [{ kind: 'document', file: file(11) }, { kind: 'document', name: /^document_/, mimeType: 'application/octet-stream', size: 11 }],
      [{ kind: 'video', file: file(12) }, { kind: 'video', name: /^video_.+\.mp4$/, mimeType: 'video/mp4', size: 12 }],
      [{ kind: 'video_note', file: file(13) }, { kind: 'video_note', name: /^video_note_.+\.mp4$/, mimeType: 'video/mp4', size: 13 }],
      [{ kind: 'animation', file: file(14) }, { kind: 'animation', name: /\.mp4$/, mimeType: 'video/mp4', size: 14 }],
      [{ kind: 'photo', file: file(15) }, { kind: 'photo', name: /^photo_.+\.jpg$/, mimeType: 'image/jpeg', size: 15 }],
      [{ kind: 'audio', file: file(16), fileName: 'song.m4a', mimeType: 'audio/mp4' }, { kind: 'audio', name: /^song\.m4a$/, mimeType: 'audio/mp4', size: 16 }],
      [{ kind: 'voice', file: file(17) }, { kind: 'voice', name: /^voice_.+\.ogg$/, mimeType: 'audio/ogg', size: 17 }],
    ];
    for (const [media, want] of cases) {
      const out = normalized(world.userMessage(dm, alice, { media }));
      expect(out?.files).toHaveLength(1);
      const [only] = out?.files ?? [];
      expect(only?.kind).toBe(want.kind);
      expect(only?.name).toMatch(want.name);
      expect(only?.mimeType).toBe(want.mimeType);
      expect(only?.size).toBe(want.size);
      expect(only?.fileId).toBe(media?.file.file_id);
    }
  });

  it('when a file name carries a path, then only a harmless label is kept', () => {
    const { world, alice, dm } = setup();
    const out = normalized(world.userMessage(dm, alice, { media: { kind: 'document', file: world.file({ size: 1 }), fileName: '../../etc/passwd.txt' } }));
    expect(out?.files[0]?.name).not.toContain('/');
  });

  it('when a service message, a bot, a channel post or a sticker arrives, then it is ignored', () => {
    const { world, alice, group } = setup();
    const joined = { message_id: 99, date: 1, chat: group, from: alice, new_chat_members: [alice] };
    const otherBot = world.user();
    otherBot.is_bot = true;
    const sticker = { message_id: 100, date: 1, chat: group, from: alice, sticker: { file_id: 's' } };
    expect(normalized(joined)).toBeUndefined();
    expect(normalized(world.userMessage(group, otherBot, { text: '@Nemo_Video_Bot hi' }))).toBeUndefined();
    expect(normalized(sticker)).toBeUndefined();
    expect(normalizeMessage({ message_id: 1, chat: { id: -1001, type: 'channel' }, text: 'post' }, ME)).toBeUndefined();
  });
});

describe('mergeAlbum and toIncomingMessage', () => {
  it('when album parts come out of order, then the album has every file in order, the captions, and is addressed if any part was', () => {
    const { world, alice, group } = setup();
    const parts = [
      world.userMessage(group, alice, { mediaGroupId: 'a', media: { kind: 'photo', file: world.file({ size: 1 }) } }),
      world.userMessage(group, alice, { mediaGroupId: 'a', caption: '@Nemo_Video_Bot intro', media: { kind: 'video', file: world.file({ size: 2 }) } }),
    ].map((m) => normalized(m) as NormalizedMessage);
    const album = mergeAlbum([...parts].reverse());
    expect(album?.files.map((f) => f.size)).toEqual([1, 2]);
    expect(album?.text).toBe('intro');
    expect(album?.addressed).toBe(true);
    expect(album?.messageId).toBe(parts[0]?.messageId);
  });

  it('when a group message becomes an IncomingMessage, then replies go to its topic and quote it; a private one quotes nothing', () => {
    const { world, alice, dm } = setup();
    const forum = world.group({ forum: true });
    const topic = world.topic(forum, alice, 'T');
    const inTopic = normalized(world.userMessage(forum, alice, { text: '/help', threadId: topic })) as NormalizedMessage;
    const attachment = () => ({ name: 'n', mimeType: 'm', size: 1, open: () => Promise.reject(new Error('unused')) });
    const incoming = toIncomingMessage(inTopic, { attachment });
    expect(incoming.address).toEqual({
      platform: 'telegram',
      chatId: String(forum.id),
      userId: String(alice.id),
      threadId: String(topic),
      extra: { replyTo: inTopic.messageId },
    });
    expect(incoming.threadId).toBe(String(topic));
    expect(incoming.platformLanguage).toBe('pt-BR');
    const direct = toIncomingMessage(normalized(world.userMessage(dm, alice, { text: 'hi' })) as NormalizedMessage, { attachment });
    expect(direct.address).toEqual({ platform: 'telegram', chatId: String(alice.id), userId: String(alice.id) });
  });
});
