import type { Readable } from 'node:stream';
import type { ButtonAction } from './commands.js';

export type Platform = 'console' | 'telegram' | 'discord';
export type Language = 'en' | 'zh';

/** A user's file, described before any byte is read. */
export interface Attachment {
  name: string;
  mimeType: string;
  /** Bytes, as the platform reports them before download. */
  size: number;
  /** Opens a stream of the bytes; called only after size and type were accepted. */
  open(): Promise<Readable>;
}

/**
 * Where to post into a chat, later and from any process: plain JSON, stored in render jobs
 * and pending turns.
 */
export interface ChatAddress {
  platform: Platform;
  chatId: string;
  userId: string;
  threadId?: string;
  /** The progress message to edit, once there is one. */
  progressMessageId?: string;
  /** Platform extras that must survive a restart (e.g. a Discord interaction token and its expiry). */
  extra?: Record<string, string | number | boolean>;
}

export interface IncomingMessage {
  platform: Platform;
  chatId: string;
  userId: string;
  threadId?: string;
  /** The user's language as the platform reports it (`en-US`, `zh-hans`…), if any. */
  platformLanguage?: string;
  text: string;
  attachments: Attachment[];
  /** DM, mention, reply to the bot or a command: in groups the bot answers only then. */
  addressed: boolean;
  /** A one-to-one chat (DM, the terminal) or a shared one; `/login` is refused in shared chats. */
  chatKind?: 'private' | 'group';
  /** Deletes the user's message where the platform allows (a `/login` carrying a token); rejects when it may not. */
  deleteOriginal?: () => Promise<void>;
  /** Only the sender sees the exchange (a Discord ephemeral interaction): nothing they typed is shown to others. */
  seenOnlyBySender?: boolean;
  /**
   * The message's id in the inbox (`src/core/inbox.ts`), when the adapter kept it there: the
   * engine takes it out once the message is durable (journaled, queued) or handled.
   */
  inboxId?: string;
  /**
   * The platform id of the bot's message this one replies to, if any: a reply to a message the
   * bot posted for a project continues that project.
   */
  replyToMessageId?: string;
  /** The project (its reference) a pressed button acted on: it becomes the current one first. */
  forProject?: string;
  /**
   * The person explicitly asked to continue the project of `replyToMessageId` (Discord's
   * "Continue this project"), rather than just replying: someone else's project is refused.
   */
  continuesProject?: boolean;
  /** Where replies go. */
  address: ChatAddress;
}

export interface Button {
  label: string;
  /** A command of the command table marked as a button; pressing it is typing `/action`. */
  action: ButtonAction;
  /** The session id of the project this button acts on, when not the row's (`SendOptions.project`): a project list. */
  project?: string;
}

export interface SendOptions {
  buttons?: Button[];
  /** The session id of the project the buttons act on: each button names it (no key is stored per button). */
  project?: string;
  /** One button per row (long labels: the project list). */
  oneColumn?: boolean;
}

/**
 * A reply that belongs to one person: a project (claim) link or a registration link. In a
 * one-to-one chat `text` is sent there; in a shared chat the adapter delivers `text` to the
 * person privately, and the chat reads only `publicText` (if any) and a short note on where
 * the link went. Never the link itself.
 */
export interface PrivateReply {
  kind: 'private-link';
  /** The whole answer, link included. */
  text: string;
  /** The answer without the link, for the shared chat. */
  publicText?: string;
  language: Language;
}

export interface VideoFile {
  filename: string;
  size: number;
  stream: Readable;
  caption: string;
  /** Unique per render: lets an outbox make a retried delivery idempotent where it can. */
  deliveryId: string;
  /** Read with ffprobe from the file sent: the player shows its frame and length before it loads. */
  meta?: VideoMeta;
  /** A small JPEG poster (≤ 320 px, ≤ 200 kB): the chat's preview. */
  thumbnail?: Buffer;
  /** The same frame at up to 1280 px: Telegram's `cover`. */
  cover?: Buffer;
  /** Says what the file is (Discord's attachment description). */
  description?: string;
}

export interface VideoMeta {
  durationSec: number;
  width: number;
  height: number;
}

/**
 * One per platform, built from config alone (no gateway connection): the bot process and
 * the worker process both post through it.
 */
export interface Outbox {
  readonly platform: Platform;
  /** Sends text; returns the platform's message id. */
  sendText(to: ChatAddress, text: string, options?: SendOptions): Promise<string>;
  /**
   * Shows the platform's typing indicator in the chat, at once (not behind queued posts). Best
   * effort: the caller only logs a failure. Absent where there is none (the terminal).
   */
  showTyping?(to: ChatAddress): Promise<void>;
  /** Edits a message in place; "not modified" counts as success. */
  editText(to: ChatAddress, messageId: string, text: string): Promise<void>;
  /**
   * Sends a video from a stream of known size and returns the posted message's id (undefined
   * where the platform gives none); throws `FileTooLargeForPlatformError` on the
   * platform's 413, `PlatformRateLimitedError` when the platform asks to wait. Any other
   * refusal (after the outbox's own retries) makes the worker send the link instead.
   */
  sendVideo(to: ChatAddress, video: VideoFile): Promise<string | undefined>;
  /**
   * The id a reply to a posted message names, from the id `sendText` or `sendVideo` returned
   * (Discord's `i:<id>` of an interaction message is `<id>`); absent: the same id.
   */
  replyTarget?(messageId: string): string;
  /** Largest file the platform accepts for this chat. */
  maxUploadBytes(to: ChatAddress): number;
  /** True when other people read this chat (a group, a guild channel). */
  isShared(to: ChatAddress): boolean;
  /** Sends a reply only `to.userId` may read (see `PrivateReply`): its `text` never goes into a shared chat. */
  sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void>;
  /**
   * Shows a generated clip by its URL before export, as a player where the platform fetches
   * URLs itself (Telegram, when small enough); without this method the caption and the link go as text.
   * Returns the posted message's id (a reply to the preview continues its project).
   */
  sendClipPreview?(to: ChatAddress, clip: ClipPreviewMessage): Promise<string>;
}

export interface ClipPreviewMessage {
  url: string;
  /** Says it is the raw clip; the URL is added by the outbox. */
  caption: string;
  sizeBytes?: number;
  durationSec?: number;
}

/**
 * A user's file could not be fetched from the platform (its lookup or its download failed):
 * the adapter's own download errors extend it, so the user is told exactly that.
 */
export class AttachmentFetchError extends Error {
  readonly code: string = 'attachment_fetch_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttachmentFetchError';
  }
}

export class FileTooLargeForPlatformError extends Error {
  readonly code = 'file_too_large_for_platform';
  constructor(readonly platform: Platform, readonly size: number) {
    super(`${platform} refused a ${size}-byte upload as too large`);
    this.name = 'FileTooLargeForPlatformError';
  }
}

/** What an adapter hands every normalized message to. It never throws for one user's failure. */
export interface MessageHandler {
  handle(message: IncomingMessage): Promise<void>;
  /**
   * A message that will be handled just came in, before the adapter's Redis steps (first-sight
   * mark, inbox): a first sign to the person, at once. Never throws, never waits.
   */
  arrived?(address: ChatAddress, options?: ArrivedOptions): void;
}

export interface ArrivedOptions {
  /** The adapter already showed the sign (Telegram's intake thread): only the throttle counts it. */
  signed?: boolean;
}

/** The outbox is closing (the process stops): nothing was refused, the delivery is left to the next run. */
export class OutboxClosedError extends Error {
  readonly code: string = 'outbox_closed';
  constructor(message = 'the outbox was closed') {
    super(message);
    this.name = 'OutboxClosedError';
  }
}

/** The platform asked to wait before another upload (a 429): the delivery is tried again later, not given up. */
export class PlatformRateLimitedError extends Error {
  readonly code = 'platform_rate_limited';
  constructor(
    readonly platform: Platform,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${platform} asked to wait ${Math.round(retryAfterMs / 1000)} s before the upload`, options);
    this.name = 'PlatformRateLimitedError';
  }
}
