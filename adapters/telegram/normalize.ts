import { z } from 'zod';
import type { Attachment, ChatAddress, IncomingMessage } from '../../src/core/types.js';
import { KNOWN_COMMANDS } from './commands.js';

/*
 * Only the fields the bot reads, validated at the boundary; everything else in an update is
 * ignored. A message that fails validation is dropped (and logged by the caller).
 */
const UserSchema = z.object({
  id: z.number(),
  is_bot: z.boolean().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});

const ChatSchema = z.object({
  id: z.number(),
  type: z.enum(['private', 'group', 'supergroup', 'channel']),
  is_forum: z.boolean().optional(),
});

const EntitySchema = z.object({
  type: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  user: UserSchema.optional(),
});

const FileSchema = z.object({
  file_id: z.string().min(1),
  file_unique_id: z.string().min(1),
  file_size: z.number().int().nonnegative().optional(),
});

const NamedFileSchema = FileSchema.extend({ file_name: z.string().optional(), mime_type: z.string().optional() });
const PhotoSizeSchema = FileSchema.extend({ width: z.number(), height: z.number() });

const ReplySchema = z.object({
  message_id: z.number(),
  from: UserSchema.optional(),
  forum_topic_created: z.unknown().optional(),
});

export const TelegramMessageSchema = z.object({
  message_id: z.number().int(),
  from: UserSchema.optional(),
  chat: ChatSchema,
  message_thread_id: z.number().int().optional(),
  is_topic_message: z.boolean().optional(),
  text: z.string().optional(),
  entities: z.array(EntitySchema).optional(),
  caption: z.string().optional(),
  caption_entities: z.array(EntitySchema).optional(),
  media_group_id: z.string().optional(),
  reply_to_message: ReplySchema.optional(),
  document: NamedFileSchema.optional(),
  video: NamedFileSchema.optional(),
  video_note: FileSchema.optional(),
  animation: NamedFileSchema.optional(),
  photo: z.array(PhotoSizeSchema).optional(),
  audio: NamedFileSchema.optional(),
  voice: NamedFileSchema.optional(),
});
export type TelegramMessage = z.infer<typeof TelegramMessageSchema>;

export type FileKind = 'document' | 'video' | 'video_note' | 'animation' | 'photo' | 'audio' | 'voice';

/** A user's file as the message describes it: enough to check it and to fetch it later. Plain JSON. */
export interface FileRef {
  kind: FileKind;
  fileId: string;
  uniqueId: string;
  name: string;
  mimeType: string;
  /** Bytes as Telegram reports them; absent when it did not say. */
  size?: number;
}

/** A Telegram message reduced to what the engine needs; plain JSON, so albums can wait in Redis. */
export interface NormalizedMessage {
  messageId: number;
  chatId: string;
  chatKind: 'private' | 'group';
  userId: string;
  threadId?: string;
  language?: string;
  text: string;
  files: FileRef[];
  addressed: boolean;
  mediaGroupId?: string;
  /** The bot's message this one replies to: it may belong to a project, which the reply continues. */
  replyToMessageId?: string;
  /** A pressed button's project (its reference): it becomes the current one first. */
  forProject?: string;
}

export interface BotIdentity {
  id: number;
  username: string;
}

/**
 * The message as the engine should see it, or undefined for what the bot ignores: service
 * messages, other bots, channel posts, stickers and anything else without words or files.
 */
export function normalizeMessage(message: TelegramMessage, me: BotIdentity): NormalizedMessage | undefined {
  const { chat, from } = message;
  if (chat.type === 'channel' || from === undefined || from.is_bot === true) return undefined;
  const files = filesOf(message);
  const rawText = message.text ?? message.caption ?? '';
  const entities = (message.text !== undefined ? message.entities : message.caption_entities) ?? [];
  if (rawText.trim() === '' && files.length === 0) return undefined;

  const group = chat.type !== 'private';
  const mentions = entities.filter((entity) => mentionsMe(rawText, entity, me));
  const addressed = !group || addressesMe(message, leadingCommand(rawText, entities), mentions.length > 0, me);

  const normalized: NormalizedMessage = {
    messageId: message.message_id,
    chatId: String(chat.id),
    chatKind: group ? 'group' : 'private',
    userId: String(from.id),
    text: withoutMentions(rawText, mentions),
    files,
    addressed,
  };
  // In ordinary supergroups reply threads also carry message_thread_id; only forum topics are places to answer in.
  if (message.is_topic_message === true && message.message_thread_id !== undefined) normalized.threadId = String(message.message_thread_id);
  if (from.language_code) normalized.language = from.language_code;
  if (message.media_group_id !== undefined) normalized.mediaGroupId = message.media_group_id;
  if (repliesToMe(message, me) && message.reply_to_message) normalized.replyToMessageId = String(message.reply_to_message.message_id);
  return normalized;
}

/** Several parts of one album as one message: every file in album order, the captions joined. */
export function mergeAlbum(parts: readonly NormalizedMessage[]): NormalizedMessage | undefined {
  const sorted = [...parts].sort((a, b) => a.messageId - b.messageId);
  const first = sorted[0];
  if (!first) return undefined;
  const merged: NormalizedMessage = {
    ...first,
    text: sorted
      .map((part) => part.text)
      .filter((text) => text.trim() !== '')
      .join('\n'),
    files: sorted.flatMap((part) => part.files),
    addressed: sorted.some((part) => part.addressed),
  };
  return merged;
}

export interface IncomingExtras {
  attachment(file: FileRef): Attachment;
  deleteMessage?: (chatId: string, messageId: number) => Promise<void>;
}

/** The engine's message, with replies going back to the same chat and forum topic. */
export function toIncomingMessage(message: NormalizedMessage, extras: IncomingExtras): IncomingMessage {
  const address = addressOf(message);
  const incoming: IncomingMessage = {
    platform: 'telegram',
    chatId: message.chatId,
    userId: message.userId,
    text: message.text,
    attachments: message.files.map((file) => extras.attachment(file)),
    addressed: message.addressed,
    chatKind: message.chatKind,
    address,
  };
  if (message.threadId !== undefined) incoming.threadId = message.threadId;
  if (message.language !== undefined) incoming.platformLanguage = message.language;
  if (message.replyToMessageId !== undefined) incoming.replyToMessageId = message.replyToMessageId;
  if (message.forProject !== undefined) incoming.forProject = message.forProject;
  const { deleteMessage } = extras;
  if (deleteMessage) incoming.deleteOriginal = () => deleteMessage(message.chatId, message.messageId);
  return incoming;
}

/** Where answers to `message` go: its chat and forum topic; in a group, quoting it. */
export function addressOf(message: NormalizedMessage): ChatAddress {
  const address: ChatAddress = { platform: 'telegram', chatId: message.chatId, userId: message.userId };
  if (message.threadId !== undefined) address.threadId = message.threadId;
  // In a group several people talk at once: answers quote the message they answer.
  if (message.chatKind === 'group' && message.messageId > 0) address.extra = { replyTo: message.messageId };
  return address;
}

function filesOf(message: TelegramMessage): FileRef[] {
  const files: FileRef[] = [];
  const add = (kind: FileKind, file: z.infer<typeof FileSchema>, name: string, mimeType: string): void => {
    const ref: FileRef = { kind, fileId: file.file_id, uniqueId: file.file_unique_id, name: safeName(name), mimeType };
    if (file.file_size !== undefined) ref.size = file.file_size;
    files.push(ref);
  };
  const uid = (file: { file_unique_id: string }): string => file.file_unique_id.replace(/[^A-Za-z0-9_-]/g, '');

  // An animation also fills `document` (for old clients): take it once, as the animation.
  if (message.animation) {
    const a = message.animation;
    add('animation', a, a.file_name ?? `animation_${uid(a)}.mp4`, a.mime_type ?? 'video/mp4');
  } else if (message.document) {
    const d = message.document;
    add('document', d, d.file_name ?? `document_${uid(d)}`, d.mime_type ?? 'application/octet-stream');
  }
  if (message.video) {
    const v = message.video;
    add('video', v, v.file_name ?? `video_${uid(v)}.mp4`, v.mime_type ?? 'video/mp4');
  }
  if (message.video_note) add('video_note', message.video_note, `video_note_${uid(message.video_note)}.mp4`, 'video/mp4');
  if (message.photo && message.photo.length > 0) {
    const largest = message.photo.reduce((best, size) => (area(size) > area(best) ? size : best));
    add('photo', largest, `photo_${uid(largest)}.jpg`, 'image/jpeg');
  }
  if (message.audio) {
    const a = message.audio;
    add('audio', a, a.file_name ?? `audio_${uid(a)}.mp3`, a.mime_type ?? 'audio/mpeg');
  }
  if (message.voice) {
    const v = message.voice;
    add('voice', v, `voice_${uid(v)}.ogg`, v.mime_type ?? 'audio/ogg');
  }
  return files;
}

function area(size: { width: number; height: number; file_size?: number | undefined }): number {
  return size.width * size.height || (size.file_size ?? 0);
}

/** A file name from a user is a label, never a path. */
function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim();
  return cleaned === '' ? 'file' : cleaned.slice(0, 200);
}

/** In a group: a command for this bot (or one of ours without `@name`), a mention, or a reply to the bot. */
function addressesMe(message: TelegramMessage, command: { name: string; target?: string } | undefined, mentioned: boolean, me: BotIdentity): boolean {
  if (command?.target !== undefined) return sameName(command.target, me.username);
  if (command !== undefined && KNOWN_COMMANDS.has(command.name.toLowerCase())) return true;
  return mentioned || repliesToMe(message, me);
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function leadingCommand(text: string, entities: readonly z.infer<typeof EntitySchema>[]): { name: string; target?: string } | undefined {
  const entity = entities.find((e) => e.type === 'bot_command' && e.offset === 0);
  if (!entity) return undefined;
  const [name = '', target] = text.slice(1, entity.length).split('@');
  return target === undefined ? { name } : { name, target };
}

function mentionsMe(text: string, entity: z.infer<typeof EntitySchema>, me: BotIdentity): boolean {
  if (entity.type === 'text_mention') return entity.user?.id === me.id;
  if (entity.type !== 'mention') return false;
  return sameName(text.slice(entity.offset + 1, entity.offset + entity.length), me.username);
}

function repliesToMe(message: TelegramMessage, me: BotIdentity): boolean {
  const reply = message.reply_to_message;
  if (!reply || reply.from?.id !== me.id) return false;
  // In a forum every message "replies" to the topic's first message: that is not talking to the bot.
  return reply.forum_topic_created === undefined && reply.message_id !== message.message_thread_id;
}

/** "@bot make a video" → "make a video"; a mention mid-sentence is taken out too. */
function withoutMentions(text: string, mentions: readonly z.infer<typeof EntitySchema>[]): string {
  let out = text;
  for (const entity of [...mentions].sort((a, b) => b.offset - a.offset)) {
    out = out.slice(0, entity.offset) + out.slice(entity.offset + entity.length);
  }
  if (mentions.length === 0) return text;
  return out
    .replace(/^[\s,:;，：；]+/, '')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/ +([,.!?，。！？])/g, '$1')
    .trim();
}
