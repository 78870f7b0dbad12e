/** Wire shapes of the Bot API, as far as the fake speaks them (snake_case, as on the wire). */

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  title?: string;
  first_name?: string;
  is_forum?: true;
}

export interface TgEntity {
  type: string;
  offset: number;
  length: number;
  user?: TgUser;
}

export type TgMessage = Record<string, unknown> & {
  message_id: number;
  date: number;
  chat: TgChat;
  from?: TgUser;
  message_thread_id?: number;
  is_topic_message?: true;
  text?: string;
  caption?: string;
  reply_markup?: InlineKeyboard;
};

export interface InlineKeyboard {
  inline_keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>>;
}

export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: Record<string, unknown>;
  [kind: string]: unknown;
}

/** A file users can send and the bot can download. */
export interface FakeFile {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  file_path: string;
  /** Bytes, or a deterministic pattern of `file_size` bytes when absent. */
  bytes?: Buffer;
}

export type MediaKind = 'document' | 'video' | 'video_note' | 'animation' | 'photo' | 'audio' | 'voice';

/** What a user sends: words, a file, a reply, a topic, an album. */
export interface UserContent {
  text?: string;
  caption?: string;
  /** `omitSize`: the message leaves `file_size` out (Telegram may), so only getFile can tell. */
  media?: { kind: MediaKind; file: FakeFile; fileName?: string; mimeType?: string; omitSize?: boolean };
  /** Reply to this message (the bot's or anyone's) in the same chat. */
  replyTo?: number;
  /** A forum topic's thread id (see `topic()`). */
  threadId?: number;
  mediaGroupId?: string;
  /** Explicit entities; by default commands and @mentions are detected like Telegram does. */
  entities?: TgEntity[];
}

/** Something the bot posted, with its current state. */
export interface BotMessage {
  messageId: number;
  chatId: string;
  threadId?: number;
  replyTo?: number;
  /** `video-by-url`: a video Telegram fetched from a URL (a clip preview), not an upload. */
  kind: 'text' | 'video' | 'video-by-url' | 'document';
  text?: string;
  caption?: string;
  replyMarkup?: InlineKeyboard;
  /** Every text the message had, first to last (edits included). */
  history: string[];
  file?: { field: string; filename: string; size: number; sha256: string; bytes: Buffer; contentType?: string };
  supportsStreaming?: boolean;
  /** A file sent by URL (Telegram fetches it), instead of `file`. */
  url?: string;
  /** What sendVideo said about the player: size and length, and the poster files it attached. */
  player?: VideoPlayer;
  at: number;
}

export interface AttachedImage {
  filename: string;
  size: number;
  contentType?: string;
  bytes: Buffer;
}

export interface VideoPlayer {
  duration?: number;
  width?: number;
  height?: number;
  thumbnail?: AttachedImage;
  cover?: AttachedImage;
}

export interface ApiCall {
  method: string;
  at: number;
  chatId?: string;
  params: Record<string, unknown>;
  /** The error code the fake answered with, if any. */
  failed?: number;
}

export interface ScriptedFailure {
  code: number;
  description: string;
  retryAfter?: number;
}

/**
 * How a Bot API that is not our friend answers (other servers, proxies, real Telegram on a bad
 * day): every matching call is refused, until `setUnfriendly({})`.
 */
export interface UnfriendlyMode {
  /** editMessageText refused: "message to edit not found", "message can't be edited" (400), or a 502. */
  edits?: 'not-found' | 'cant-be-edited' | 'server-error';
  /** sendVideo and sendDocument refused with 400 or 500 (after reading the upload). */
  uploads?: 400 | 500;
  /** These methods answer 200 with an HTML page instead of the Bot API's JSON. */
  unshaped?: string[];
  /** File downloads (`/file/bot…`) answered with this status instead of the bytes. */
  downloads?: 404 | 500;
  /** getFile leaves `file_size` out (the Bot API may); the download itself is served chunked, without a length. */
  sizeless?: boolean;
}

export interface FakeTelegramOptions {
  /** Refusals from the start (see `setUnfriendly`). */
  unfriendly?: UnfriendlyMode;
  token?: string;
  botUsername?: string;
  /** Multipart uploads over this get 413 (default 50 MB). */
  maxUploadBytes?: number;
  /** getFile refuses files over this with "file is too big" (default 20 MB). */
  maxDownloadBytes?: number;
}

export interface FakeTelegram {
  /** The API root to give telegraf (`TELEGRAM_API_ROOT`). */
  url: string;
  token: string;
  bot: TgUser;
  user(options?: { firstName?: string; username?: string; languageCode?: string }): TgUser;
  privateChat(user: TgUser): TgChat;
  group(options?: { title?: string; forum?: boolean }): TgChat;
  /** Opens a forum topic (as `by`); returns its thread id. */
  topic(chat: TgChat, by: TgUser, name?: string): number;
  /**
   * A file in Telegram's storage, from bytes or of a given size (deterministic bytes).
   * `reportedSize` makes getFile and messages announce another size than the bytes served.
   */
  file(source: { bytes: Buffer; reportedSize?: number } | { size: number }): FakeFile;
  fileSha256(file: FakeFile): string;
  /** A user writes: the message is stored and queued as an update. */
  say(chat: TgChat, from: TgUser, content: UserContent): TgMessage;
  /** A user presses an inline button under a bot message; returns the callback query id. */
  press(
    from: TgUser,
    message: BotMessage,
    callbackData: string,
    options?: {
      inaccessible?: boolean;
      /** Reshapes the callback_query before it is queued (a client or server that differs); it stays answerable by its id. */
      mangle?: (query: Record<string, unknown>) => Record<string, unknown>;
    },
  ): string;
  /**
   * The person opens a `https://t.me/<bot>?start=<payload>` link and presses Start: the private
   * chat begins (if new) and `/start <payload>` arrives. A link elsewhere or a payload Telegram
   * refuses (over 64 characters, outside `[A-Za-z0-9_-]`) is a violation.
   */
  openDeepLink(user: TgUser, link: string): TgMessage;
  /** Queues any update (a service message, an edited message…). */
  pushUpdate(update: Omit<TgUpdate, 'update_id'>): number;
  /**
   * `listener` is told of each update as it goes to the bot: right after a getUpdates answer
   * carrying it is written (or before a webhook post). Returns the way to stop listening.
   */
  onHandOut(listener: (update: TgUpdate) => void): () => void;
  /** Everything the bot posted, in order (current text in `text`, all texts in `history`). */
  sent: BotMessage[];
  calls: ApiCall[];
  chatActions: Array<{ chatId: string; action: string; threadId?: number; at: number }>;
  callbackAnswers: Array<{ id: string; text?: string; at: number }>;
  /** setMyCommands by language (`default` when none). */
  commands: Map<string, Array<{ command: string; description: string }>>;
  webhook(): { url: string; secret?: string } | undefined;
  webhookDeliveries: Array<{ updateId: number; status: number }>;
  downloads: Array<{ fileId: string; bytes: number; complete: boolean }>;
  /** Contract breaches by the client: too-long texts, ignoring retry_after… */
  violations: string[];
  /** The next `times` calls of `method` fail with this answer (a 429 with `retryAfter` pauses the chat). */
  failNext(method: string, failure: ScriptedFailure, times?: number): void;
  /** From now on, refuse calls as `mode` says (`{}`: friendly again). Refused calls are in `calls` with `failed`. */
  setUnfriendly(mode: UnfriendlyMode): void;
  /** Updates not yet confirmed by a getUpdates offset (or a webhook 2xx). */
  unconfirmed(): number;
  /** Resolves when a getUpdates long poll is waiting (polling has started). */
  polling(): Promise<void>;
  close(): Promise<void>;
}
