import { createHash, randomBytes } from 'node:crypto';
import type { BotMessage, FakeFile, TgChat, TgEntity, TgMessage, TgUser, UserContent } from './types.js';

const CHUNK = 64 * 1024;

/** Deterministic bytes for a file known only by its size. */
export function patternChunk(seed: number, offset: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 1) chunk[i] = ((offset + i) * 131 + seed) & 0xff;
  return chunk;
}

export function* fileChunks(file: FakeFile, seed: number): Generator<Buffer> {
  if (file.bytes) {
    for (let offset = 0; offset < file.bytes.length; offset += CHUNK) yield file.bytes.subarray(offset, offset + CHUNK);
    return;
  }
  for (let offset = 0; offset < file.file_size; offset += CHUNK) yield patternChunk(seed, offset, Math.min(CHUNK, file.file_size - offset));
}

/** Users, chats, messages and files: what Telegram's servers hold. */
export class World {
  readonly bot: TgUser;
  readonly users = new Map<number, TgUser>();
  readonly chats = new Map<string, TgChat>();
  /** Per chat: every message (users' and the bot's) by id. */
  readonly messages = new Map<string, Map<number, TgMessage>>();
  readonly topics = new Map<string, Set<number>>();
  readonly files = new Map<string, { file: FakeFile; seed: number }>();
  readonly filesByPath = new Map<string, { file: FakeFile; seed: number }>();
  readonly sent: BotMessage[] = [];
  private nextUserId = 500_000_001;
  private nextGroupId = 1_000_000_001;
  private nextFile = 1;
  private readonly nextMessageId = new Map<string, number>();

  constructor(botUsername: string, botId: number) {
    this.bot = { id: botId, is_bot: true, first_name: 'Nemo Video', username: botUsername };
  }

  user(options: { firstName?: string; username?: string; languageCode?: string } = {}): TgUser {
    const id = this.nextUserId++;
    const user: TgUser = { id, is_bot: false, first_name: options.firstName ?? `User${id}` };
    if (options.username) user.username = options.username;
    if (options.languageCode) user.language_code = options.languageCode;
    this.users.set(id, user);
    return user;
  }

  privateChat(user: TgUser): TgChat {
    const chat: TgChat = { id: user.id, type: 'private', first_name: user.first_name };
    this.chats.set(String(chat.id), chat);
    return chat;
  }

  group(options: { title?: string; forum?: boolean } = {}): TgChat {
    const id = -(1_000_000_000_000 + this.nextGroupId++);
    const chat: TgChat = { id, type: 'supergroup', title: options.title ?? `Group ${-id}` };
    if (options.forum) chat.is_forum = true;
    this.chats.set(String(id), chat);
    return chat;
  }

  messageId(chatId: string): number {
    const id = this.nextMessageId.get(chatId) ?? 1;
    this.nextMessageId.set(chatId, id + 1);
    return id;
  }

  store(message: TgMessage): void {
    const key = String(message.chat.id);
    let byId = this.messages.get(key);
    if (!byId) {
      byId = new Map();
      this.messages.set(key, byId);
    }
    byId.set(message.message_id, message);
  }

  find(chatId: string, messageId: number): TgMessage | undefined {
    return this.messages.get(chatId)?.get(messageId);
  }

  topic(chat: TgChat, by: TgUser, name: string): number {
    const threadId = this.messageId(String(chat.id));
    const root: TgMessage = {
      message_id: threadId,
      message_thread_id: threadId,
      date: now(),
      chat,
      from: by,
      forum_topic_created: { name, icon_color: 7322096 },
    };
    this.store(root);
    let set = this.topics.get(String(chat.id));
    if (!set) {
      set = new Set();
      this.topics.set(String(chat.id), set);
    }
    set.add(threadId);
    return threadId;
  }

  file(source: { bytes: Buffer; reportedSize?: number } | { size: number }): FakeFile {
    const n = this.nextFile++;
    const size = 'bytes' in source ? (source.reportedSize ?? source.bytes.length) : source.size;
    const file: FakeFile = {
      file_id: `BAAC${randomBytes(12).toString('base64url')}${n}`,
      file_unique_id: `AgAD${n}`,
      file_size: size,
      file_path: `documents/file_${n}.bin`,
    };
    if ('bytes' in source) file.bytes = source.bytes;
    const entry = { file, seed: n };
    this.files.set(file.file_id, entry);
    this.filesByPath.set(file.file_path, entry);
    return file;
  }

  fileSha256(file: FakeFile): string {
    const entry = this.files.get(file.file_id);
    if (!entry) throw new Error('unknown file');
    const hash = createHash('sha256');
    for (const chunk of fileChunks(entry.file, entry.seed)) hash.update(chunk);
    return hash.digest('hex');
  }

  /** The message a user's client would produce. */
  userMessage(chat: TgChat, from: TgUser, content: UserContent): TgMessage {
    const chatId = String(chat.id);
    const message: TgMessage = { message_id: this.messageId(chatId), from, chat, date: now() };
    if (content.text !== undefined) {
      message.text = content.text;
      const entities = content.entities ?? autoEntities(content.text);
      if (entities.length > 0) message.entities = entities;
    }
    if (content.caption !== undefined) {
      message.caption = content.caption;
      const entities = content.entities ?? autoEntities(content.caption);
      if (entities.length > 0) message.caption_entities = entities;
    }
    if (content.mediaGroupId !== undefined) message.media_group_id = content.mediaGroupId;
    if (content.media) Object.assign(message, this.media(content.media));
    if (content.threadId !== undefined) {
      message.message_thread_id = content.threadId;
      message.is_topic_message = true;
    }
    const repliedId = content.replyTo ?? content.threadId;
    if (repliedId !== undefined) {
      const replied = this.find(chatId, repliedId);
      if (replied) {
        // Telegram never nests replies: the quoted message has no reply_to_message of its own.
        const { reply_to_message: _drop, ...flat } = replied;
        message.reply_to_message = flat;
      }
    }
    this.store(message);
    return message;
  }

  private media(media: NonNullable<UserContent['media']>): Record<string, unknown> {
    const { file } = media;
    const base = { file_id: file.file_id, file_unique_id: file.file_unique_id, ...(media.omitSize ? {} : { file_size: file.file_size }) };
    switch (media.kind) {
      case 'photo': {
        // Telegram sends every size it made, smallest first; the original is the last.
        const thumb = this.file({ bytes: Buffer.from('thumbnail') });
        return {
          photo: [
            { file_id: thumb.file_id, file_unique_id: thumb.file_unique_id, file_size: thumb.file_size, width: 90, height: 60 },
            { ...base, width: 1280, height: 853 },
          ],
        };
      }
      case 'video':
        return { video: { ...base, width: 160, height: 120, duration: 2, file_name: media.fileName, mime_type: media.mimeType ?? 'video/mp4' } };
      case 'video_note':
        return { video_note: { ...base, length: 240, duration: 2 } };
      case 'animation': {
        const animation = { ...base, width: 160, height: 120, duration: 2, file_name: media.fileName ?? 'funny.gif.mp4', mime_type: 'video/mp4' };
        return { animation, document: { ...base, file_name: animation.file_name, mime_type: 'video/mp4' } };
      }
      case 'audio':
        return { audio: { ...base, duration: 3, file_name: media.fileName, mime_type: media.mimeType ?? 'audio/mpeg' } };
      case 'voice':
        return { voice: { ...base, duration: 3, mime_type: 'audio/ogg' } };
      case 'document':
        return { document: { ...base, file_name: media.fileName, mime_type: media.mimeType } };
    }
  }
}

/** Commands and @mentions, found as Telegram's servers find them (offsets in UTF-16 units). */
export function autoEntities(text: string): TgEntity[] {
  const entities: TgEntity[] = [];
  for (const match of text.matchAll(/(^|\s)(\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)/g)) {
    entities.push({ type: 'bot_command', offset: (match.index ?? 0) + (match[1]?.length ?? 0), length: match[2]?.length ?? 0 });
  }
  for (const match of text.matchAll(/(^|[^A-Za-z0-9_/])(@[A-Za-z0-9_]{5,32})/g)) {
    entities.push({ type: 'mention', offset: (match.index ?? 0) + (match[1]?.length ?? 0), length: match[2]?.length ?? 0 });
  }
  return entities.sort((a, b) => a.offset - b.offset);
}

export function now(): number {
  return Math.floor(Date.now() / 1000);
}
