import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundaryOf, readMultipart } from '../nemo/multipart.js';
import type {
  ApiCall,
  BotMessage,
  FakeTelegram,
  FakeTelegramOptions,
  InlineKeyboard,
  ScriptedFailure,
  TgChat,
  TgMessage,
  TgUpdate,
  UnfriendlyMode,
  VideoPlayer,
} from './types.js';
import { UpdateQueue } from './updates.js';
import { fileChunks, now, World } from './world.js';

const MB = 1024 * 1024;
export const DEFAULT_TOKEN = '7123456789:AAHfakeTokenForTests_0123456789abcdefXY';
// Uploaded bytes are kept (for comparing) up to this size; larger ones are only counted and hashed.
const KEEP_BYTES = 8 * MB;

type Params = Record<string, unknown>;

interface UploadedPart {
  field: string;
  filename: string;
  contentType?: string;
  size: number;
  sha256: string;
  bytes: Buffer;
}

// Telegram's own words for refused edits and uploads (see UnfriendlyMode).
const EDIT_REFUSALS: Record<NonNullable<UnfriendlyMode['edits']>, [number, string]> = {
  'not-found': [400, 'Bad Request: message to edit not found'],
  'cant-be-edited': [400, "Bad Request: message can't be edited"],
  'server-error': [502, 'Bad Gateway'],
};
const UPLOAD_REFUSALS: Record<NonNullable<UnfriendlyMode['uploads']>, [number, string]> = {
  400: [400, 'Bad Request: wrong file identifier/HTTP URL specified'],
  500: [500, 'Internal Server Error: upload failed'],
};

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
  }
}

/** Starts a fake Bot API on 127.0.0.1 that telegraf can use unchanged (`apiRoot`). */
export async function startFakeTelegram(options: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const token = options.token ?? DEFAULT_TOKEN;
  const botId = Number(token.split(':')[0]);
  const maxUploadBytes = options.maxUploadBytes ?? 50 * MB;
  const maxDownloadBytes = options.maxDownloadBytes ?? 20 * MB;
  const world = new World(options.botUsername ?? 'nemo_video_test_bot', botId);
  const calls: ApiCall[] = [];
  const violations: string[] = [];
  const chatActions: FakeTelegram['chatActions'] = [];
  const callbackAnswers: FakeTelegram['callbackAnswers'] = [];
  const commands = new Map<string, Array<{ command: string; description: string }>>();
  const downloads: FakeTelegram['downloads'] = [];
  const failures = new Map<string, ScriptedFailure[]>();
  const penalties = new Map<string, number>();
  const openCallbacks = new Set<string>();
  const updates = new UpdateQueue(answer);
  let unfriendly: UnfriendlyMode = { ...options.unfriendly };

  const server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      if (!res.headersSent) answer(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(error)}` });
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', url).pathname;
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (download) return serveFile(req, res, decodeURIComponent(download[1] ?? ''), decodeURIComponent(download[2] ?? ''));
    const api = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (!api) return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (decodeURIComponent(api[1] ?? '') !== token) {
      await drain(req);
      return answer(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const method = api[2] ?? '';
    const { params, files } = await readParams(req);
    const chatId = params.chat_id === undefined ? undefined : String(params.chat_id);
    const call: ApiCall = { method, at: Date.now(), params: redactFiles(params, files) };
    if (chatId !== undefined) call.chatId = chatId;
    calls.push(call);
    try {
      checkPenalty(method, chatId);
      const hostile = unfriendlyAnswer(method, files.length > 0);
      if (hostile === 'unshaped') {
        // A proxy or a broken server in front of the Bot API: 200, but not the Bot API's JSON.
        call.failed = 200;
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>OK</body></html>');
        return;
      }
      if (hostile) throw hostile;
      const scripted = failures.get(method)?.shift();
      if (scripted) {
        if (scripted.code === 429 && chatId !== undefined && scripted.retryAfter !== undefined) {
          penalties.set(chatId, Date.now() + scripted.retryAfter * 1000);
        }
        throw new ApiError(scripted.code, scripted.description, scripted.retryAfter);
      }
      if (method === 'getUpdates') {
        updates.getUpdates(res, {
          offset: int(params.offset) ?? 0,
          limit: int(params.limit) ?? 100,
          timeout: int(params.timeout) ?? 0,
          allowed: Array.isArray(params.allowed_updates) ? (params.allowed_updates as string[]) : [],
        });
        return;
      }
      const result = method in METHODS ? METHODS[method]?.(params, files) : undefined;
      if (result === undefined) throw new ApiError(404, 'Not Found');
      answer(res, 200, { ok: true, result });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      call.failed = error.status;
      answer(res, error.status, {
        ok: false,
        error_code: error.status,
        description: error.description,
        ...(error.retryAfter === undefined ? {} : { parameters: { retry_after: error.retryAfter } }),
      });
    }
  }

  /** The unfriendly mode's answer to `method`, if it refuses it; `unshaped`: a body that is not the Bot API's. */
  function unfriendlyAnswer(method: string, uploading: boolean): ApiError | 'unshaped' | undefined {
    if (unfriendly.unshaped?.includes(method)) return 'unshaped';
    if (method === 'editMessageText' && unfriendly.edits !== undefined) return new ApiError(...EDIT_REFUSALS[unfriendly.edits]);
    // Uploads only: a file given by URL is fetched by Telegram, not uploaded.
    if ((method === 'sendVideo' || method === 'sendDocument') && uploading && unfriendly.uploads !== undefined) return new ApiError(...UPLOAD_REFUSALS[unfriendly.uploads]);
    return undefined;
  }

  /** A chat paused by a 429 must not be written to before retry_after elapsed. */
  function checkPenalty(method: string, chatId: string | undefined): void {
    if (chatId === undefined || method === 'sendChatAction' || method === 'answerCallbackQuery' || method === 'getFile') return;
    const until = penalties.get(chatId);
    if (until === undefined) return;
    const early = until - Date.now();
    if (early <= 0) {
      penalties.delete(chatId);
      return;
    }
    violations.push(`${method} to chat ${chatId} ${early} ms before retry_after elapsed`);
    throw new ApiError(429, `Too Many Requests: retry after ${Math.ceil(early / 1000)}`, Math.ceil(early / 1000));
  }

  const METHODS: Record<string, (params: Params, files: UploadedPart[]) => unknown> = {
    getMe: () => ({ ...world.bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false }),
    deleteWebhook: (params) => {
      updates.deleteWebhook(params.drop_pending_updates === true || params.drop_pending_updates === 'true');
      return true;
    },
    setWebhook: (params) => {
      const hook = str(params.url);
      if (!hook) throw new ApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
      const secret = str(params.secret_token);
      if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw new ApiError(400, 'Bad Request: secret token contains unallowed characters');
      updates.setWebhook(hook, secret, Array.isArray(params.allowed_updates) ? (params.allowed_updates as string[]) : []);
      return true;
    },
    getWebhookInfo: () => ({ url: updates.webhook()?.url ?? '', has_custom_certificate: false, pending_update_count: updates.unconfirmed() }),
    setMyCommands: (params) => {
      const list = params.commands;
      if (!Array.isArray(list) || list.length === 0 || list.length > 100) throw new ApiError(400, 'Bad Request: commands must be a non-empty array');
      for (const entry of list as Array<{ command?: unknown; description?: unknown }>) {
        const ok =
          typeof entry.command === 'string' &&
          /^[a-z0-9_]{1,32}$/.test(entry.command) &&
          typeof entry.description === 'string' &&
          entry.description.length >= 1 &&
          entry.description.length <= 256;
        if (!ok) {
          violations.push(`setMyCommands: invalid command ${JSON.stringify(entry)}`);
          throw new ApiError(400, 'Bad Request: BOT_COMMAND_INVALID');
        }
      }
      commands.set(str(params.language_code) || 'default', list as Array<{ command: string; description: string }>);
      return true;
    },
    sendMessage: (params) => {
      const chat = chatOf(params);
      const text = str(params.text) ?? '';
      if (text.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
      if (text.length > 4096) {
        violations.push(`sendMessage: text of ${text.length} characters`);
        throw new ApiError(400, 'Bad Request: message is too long');
      }
      const markup = keyboardOf(params);
      const message = botMessage(chat, params, { text });
      if (markup) message.reply_markup = markup;
      const sent = record(message, 'text', { text, ...(markup ? { replyMarkup: markup } : {}) });
      sent.history.push(text);
      return message;
    },
    editMessageText: (params) => {
      const chat = chatOf(params);
      const messageId = int(params.message_id);
      const stored = messageId === undefined ? undefined : world.find(String(chat.id), messageId);
      if (!stored) throw new ApiError(400, 'Bad Request: message to edit not found');
      if (stored.from?.id !== world.bot.id || stored.text === undefined) throw new ApiError(400, "Bad Request: message can't be edited");
      const text = str(params.text) ?? '';
      if (text.trim() === '') throw new ApiError(400, 'Bad Request: message text is empty');
      if (text.length > 4096) {
        violations.push(`editMessageText: text of ${text.length} characters`);
        throw new ApiError(400, 'Bad Request: MESSAGE_TOO_LONG');
      }
      const markup = keyboardOf(params);
      if (stored.text === text && JSON.stringify(stored.reply_markup) === JSON.stringify(markup)) {
        throw new ApiError(
          400,
          'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a specified content and reply markup of the message',
        );
      }
      stored.text = text;
      if (markup) stored.reply_markup = markup;
      else delete stored.reply_markup;
      stored.edit_date = now();
      const sent = world.sent.find((m) => m.chatId === String(chat.id) && m.messageId === messageId);
      if (sent) {
        sent.text = text;
        sent.history.push(text);
        if (markup) sent.replyMarkup = markup;
        else delete sent.replyMarkup;
      }
      return stored;
    },
    deleteMessage: (params) => {
      const chat = chatOf(params);
      const messageId = int(params.message_id);
      if (messageId === undefined || !world.messages.get(String(chat.id))?.delete(messageId)) {
        throw new ApiError(400, 'Bad Request: message to delete not found');
      }
      return true;
    },
    sendChatAction: (params) => {
      const chat = chatOf(params);
      const threadId = threadOf(chat, params);
      chatActions.push({ chatId: String(chat.id), action: str(params.action) ?? '', ...(threadId === undefined ? {} : { threadId }), at: Date.now() });
      return true;
    },
    sendVideo: (params, files) => sendFile('video', params, files),
    sendDocument: (params, files) => sendFile('document', params, files),
    getFile: (params) => {
      const entry = world.files.get(str(params.file_id) ?? '');
      if (!entry) throw new ApiError(400, 'Bad Request: invalid file_id');
      if (entry.file.file_size > maxDownloadBytes) throw new ApiError(400, 'Bad Request: file is too big');
      const { file } = entry;
      if (unfriendly.sizeless) return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_path: file.file_path };
      return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size, file_path: file.file_path };
    },
    answerCallbackQuery: (params) => {
      const id = str(params.callback_query_id) ?? '';
      if (!openCallbacks.delete(id)) throw new ApiError(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
      const text = str(params.text);
      callbackAnswers.push({ id, ...(text === undefined ? {} : { text }), at: Date.now() });
      return true;
    },
  };

  function sendFile(field: 'video' | 'document', params: Params, files: UploadedPart[]): TgMessage {
    const chat = chatOf(params);
    const byUrl = str(params[field]);
    if (byUrl !== undefined && files.every((f) => f.field !== field) && /^https?:\/\//.test(byUrl)) return sendByUrl(field, chat, params, byUrl);
    const part = files.find((f) => f.field === field);
    if (!part) throw new ApiError(400, `Bad Request: there is no ${field} in the request`);
    if (part.size > maxUploadBytes) throw new ApiError(413, 'Request Entity Too Large');
    const caption = str(params.caption);
    if (caption !== undefined && caption.length > 1024) {
      violations.push(`${field}: caption of ${caption.length} characters`);
      throw new ApiError(400, 'Bad Request: message caption is too long');
    }
    const stored = world.file({ bytes: part.size <= KEEP_BYTES ? part.bytes : Buffer.alloc(0) });
    const media = { file_id: stored.file_id, file_unique_id: stored.file_unique_id, file_size: part.size, file_name: part.filename, mime_type: 'video/mp4' };
    const message = botMessage(chat, params, field === 'video' ? { video: { ...media, width: 160, height: 120, duration: 2 } } : { document: media });
    if (caption !== undefined) message.caption = caption;
    const streaming = params.supports_streaming === true || params.supports_streaming === 'true';
    const player = field === 'video' ? videoPlayer(params, files) : undefined;
    if (player?.width !== undefined && player.height !== undefined && message.video !== undefined) {
      message.video = { ...message.video, width: player.width, height: player.height, ...(player.duration === undefined ? {} : { duration: player.duration }) };
    }
    const sent = record(message, field, {
      ...(caption === undefined ? {} : { caption }),
      file: { field, filename: part.filename, size: part.size, sha256: part.sha256, bytes: part.bytes, ...(part.contentType ? { contentType: part.contentType } : {}) },
      ...(field === 'video' ? { supportsStreaming: streaming } : {}),
      ...(player === undefined ? {} : { player }),
    });
    if (caption !== undefined) sent.history.push(caption);
    return message;
  }

  /** A file Telegram fetches from a URL itself (it would refuse one past 20 MB: tests script that with failNext). */
  function sendByUrl(field: 'video' | 'document', chat: TgChat, params: Params, fileUrl: string): TgMessage {
    const caption = str(params.caption);
    const media = { file_id: `url-${randomBytes(6).toString('hex')}`, file_unique_id: randomBytes(6).toString('hex'), mime_type: 'video/mp4' };
    const message = botMessage(chat, params, field === 'video' ? { video: { ...media, width: 0, height: 0, duration: int(params.duration) ?? 0 } } : { document: media });
    if (caption !== undefined) message.caption = caption;
    const sent = record(message, field === 'video' ? 'video-by-url' : field, {
      ...(caption === undefined ? {} : { caption }),
      url: fileUrl,
      ...(field === 'video' ? { supportsStreaming: params.supports_streaming === true || params.supports_streaming === 'true' } : {}),
    });
    if (caption !== undefined) sent.history.push(caption);
    return message;
  }

  /**
   * sendVideo's player fields as the Bot API checks them: whole numbers, and a thumbnail or
   * cover named `attach://<part>` of this upload (the thumbnail a JPEG of at most 200 kB).
   */
  function videoPlayer(params: Params, files: UploadedPart[]): VideoPlayer {
    const player: VideoPlayer = {};
    for (const key of ['duration', 'width', 'height'] as const) {
      if (params[key] === undefined) continue;
      const value = int(params[key]);
      if (value === undefined || value < 0) throw new ApiError(400, `Bad Request: bad ${key}`);
      player[key] = value;
    }
    for (const key of ['thumbnail', 'cover'] as const) {
      const value = str(params[key]);
      if (value === undefined) continue;
      const name = /^attach:\/\/(.+)$/.exec(value)?.[1];
      if (name === undefined) {
        violations.push(`sendVideo: ${key} is not attach://<name> (${value.slice(0, 40)})`);
        throw new ApiError(400, `Bad Request: wrong ${key} specified`);
      }
      const image = files.find((f) => f.field === name);
      if (image === undefined) throw new ApiError(400, `Bad Request: ${key} file ${name} not found in the request`);
      if (key === 'thumbnail' && (image.size > 200 * 1024 || image.bytes[0] !== 0xff || image.bytes[1] !== 0xd8)) {
        violations.push(`sendVideo: thumbnail of ${image.size} bytes is not a JPEG under 200 kB`);
        throw new ApiError(400, 'Bad Request: wrong thumbnail');
      }
      player[key] = { filename: image.filename, size: image.size, bytes: image.bytes, ...(image.contentType ? { contentType: image.contentType } : {}) };
    }
    return player;
  }

  function chatOf(params: Params): TgChat {
    const chat = world.chats.get(String(params.chat_id ?? ''));
    if (!chat) {
      // A person the bot has seen (in a group) but who never pressed Start in a private chat with it.
      if (world.users.has(Number(params.chat_id))) throw new ApiError(403, "Forbidden: bot can't initiate conversation with a user");
      throw new ApiError(400, 'Bad Request: chat not found');
    }
    return chat;
  }

  function threadOf(chat: TgChat, params: Params): number | undefined {
    const threadId = int(params.message_thread_id);
    if (threadId === undefined) return undefined;
    if (!chat.is_forum) return undefined;
    if (!world.topics.get(String(chat.id))?.has(threadId)) throw new ApiError(400, 'Bad Request: message thread not found');
    return threadId;
  }

  function keyboardOf(params: Params): InlineKeyboard | undefined {
    const markup = json(params.reply_markup) as InlineKeyboard | undefined;
    if (!markup) return undefined;
    for (const row of markup.inline_keyboard ?? []) {
      for (const button of row) {
        if (button.callback_data !== undefined && Buffer.byteLength(button.callback_data) > 64) {
          violations.push(`callback_data of ${Buffer.byteLength(button.callback_data)} bytes`);
          throw new ApiError(400, 'Bad Request: BUTTON_DATA_INVALID');
        }
      }
    }
    return markup;
  }

  function botMessage(chat: TgChat, params: Params, content: Record<string, unknown>): TgMessage {
    const threadId = threadOf(chat, params);
    const chatId = String(chat.id);
    const message: TgMessage = { message_id: 0, from: world.bot, chat, date: now(), ...content };
    const reply = json(params.reply_parameters) as { message_id?: number; allow_sending_without_reply?: boolean } | undefined;
    if (reply?.message_id !== undefined) {
      const replied = world.find(chatId, reply.message_id);
      if (replied) {
        const { reply_to_message: _drop, ...flat } = replied;
        message.reply_to_message = flat;
      } else if (reply.allow_sending_without_reply !== true) {
        throw new ApiError(400, 'Bad Request: message to be replied not found');
      }
    }
    message.message_id = world.messageId(chatId);
    if (threadId !== undefined) {
      message.message_thread_id = threadId;
      message.is_topic_message = true;
    }
    world.store(message);
    return message;
  }

  function record(message: TgMessage, kind: BotMessage['kind'], fields: Partial<BotMessage>): BotMessage {
    const sent: BotMessage = { messageId: message.message_id, chatId: String(message.chat.id), kind, history: [], at: Date.now(), ...fields };
    if (message.message_thread_id !== undefined) sent.threadId = message.message_thread_id;
    const replied = message.reply_to_message as { message_id?: number } | undefined;
    if (replied?.message_id !== undefined) sent.replyTo = replied.message_id;
    world.sent.push(sent);
    return sent;
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, givenToken: string, filePath: string): Promise<void> {
    const entry = world.filesByPath.get(filePath);
    if (givenToken !== token || !entry) {
      answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const { file, seed } = entry;
    if (unfriendly.downloads !== undefined) {
      answer(res, unfriendly.downloads, { ok: false, error_code: unfriendly.downloads, description: unfriendly.downloads === 404 ? 'Not Found' : 'Internal Server Error' });
      return;
    }
    if (file.file_size > maxDownloadBytes) violations.push(`download of ${file.file_id} over the getFile limit`);
    const served = { fileId: file.file_id, bytes: 0, complete: false };
    downloads.push(served);
    // A file whose bytes differ from its announced size is served chunked, as a misbehaving server would.
    const honest = (!file.bytes || file.bytes.length === file.file_size) && !unfriendly.sizeless;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...(honest ? { 'Content-Length': String(file.file_size) } : {}) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    for (const chunk of fileChunks(file, seed)) {
      if (res.destroyed) return;
      served.bytes += chunk.length;
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
    served.complete = !res.destroyed;
  }

  async function readParams(req: IncomingMessage): Promise<{ params: Params; files: UploadedPart[] }> {
    const type = req.headers['content-type'] ?? '';
    const query = Object.fromEntries(new URL(req.url ?? '/', url).searchParams);
    if (type.startsWith('application/json')) {
      const text = await readText(req);
      return { params: { ...query, ...(text ? (JSON.parse(text) as Params) : {}) }, files: [] };
    }
    if (type.startsWith('multipart/form-data')) {
      const boundary = boundaryOf(type);
      if (!boundary) throw new ApiError(400, 'Bad Request: bad multipart');
      const params: Params = { ...query };
      const files: UploadedPart[] = [];
      await readMultipart(req, boundary, (headers) => {
        const chunks: Buffer[] = [];
        const hash = createHash('sha256');
        let size = 0;
        return {
          data(chunk) {
            size += chunk.length;
            hash.update(chunk);
            if (size <= KEEP_BYTES) chunks.push(chunk);
          },
          end() {
            if (headers.filename !== undefined) {
              files.push({
                field: headers.name ?? '',
                filename: headers.filename,
                ...(headers.contentType ? { contentType: headers.contentType } : {}),
                size,
                sha256: hash.digest('hex'),
                bytes: size <= KEEP_BYTES ? Buffer.concat(chunks) : Buffer.alloc(0),
              });
            } else if (headers.name !== undefined) {
              // Every multipart scalar arrives as a string; JSON fields are JSON strings.
              params[headers.name] = Buffer.concat(chunks).toString('utf8');
            }
          },
        };
      });
      return { params, files };
    }
    const text = await readText(req);
    return { params: { ...query, ...Object.fromEntries(new URLSearchParams(text)) }, files: [] };
  }

  function answer(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  return {
    url,
    token,
    bot: world.bot,
    user: (opts) => world.user(opts),
    privateChat: (user) => world.privateChat(user),
    group: (opts) => world.group(opts),
    topic: (chat, by, name = 'Topic') => world.topic(chat, by, name),
    file: (source) => world.file(source),
    fileSha256: (file) => world.fileSha256(file),
    say(chat, from, content) {
      const message = world.userMessage(chat, from, content);
      updates.push({ message });
      return message;
    },
    press(from, message, callbackData, opts = {}) {
      const id = randomBytes(8).toString('hex');
      openCallbacks.add(id);
      const chat = world.chats.get(message.chatId);
      const stored = world.find(message.chatId, message.messageId);
      const shown = opts.inaccessible || !stored ? { chat, message_id: message.messageId, date: 0 } : stored;
      const query: Record<string, unknown> = { id, from, chat_instance: `ci${message.chatId}`, message: shown, data: callbackData };
      updates.push({ callback_query: opts.mangle ? opts.mangle(query) : query });
      return id;
    },
    pushUpdate: (update: Omit<TgUpdate, 'update_id'>) => updates.push(update),
    onHandOut: (listener) => updates.onHandOut(listener),
    openDeepLink(user, link) {
      // What a client does with t.me/<bot>?start=<payload> once the person presses Start.
      const url = new URL(link);
      const payload = url.searchParams.get('start') ?? '';
      if (url.protocol !== 'https:' || url.hostname !== 't.me' || url.pathname !== `/${world.bot.username ?? ''}`) {
        violations.push(`deep link to another place: ${url.hostname}${url.pathname}`);
      }
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(payload)) violations.push(`deep link payload of ${payload.length} characters or with characters Telegram refuses`);
      const chat = world.chats.get(String(user.id)) ?? world.privateChat(user);
      const message = world.userMessage(chat, user, { text: `/start ${payload}` });
      updates.push({ message });
      return message;
    },
    sent: world.sent,
    calls,
    chatActions,
    callbackAnswers,
    commands,
    webhook: () => updates.webhook(),
    webhookDeliveries: updates.deliveries,
    downloads,
    violations,
    failNext(method, failure, times = 1) {
      const list = failures.get(method) ?? [];
      for (let i = 0; i < times; i += 1) list.push(failure);
      failures.set(method, list);
    },
    setUnfriendly(mode) {
      unfriendly = { ...mode };
    },
    unconfirmed: () => updates.unconfirmed(),
    polling: () => updates.polling(),
    async close() {
      updates.close();
      server.close();
      server.closeAllConnections();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

function redactFiles(params: Params, files: UploadedPart[]): Params {
  const out: Params = { ...params };
  for (const file of files) out[file.field] = { filename: file.filename, size: file.size };
  return out;
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : String(value);
}

function int(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** JSON fields come as objects in JSON bodies and as JSON strings in multipart ones. */
function json(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new ApiError(400, "Bad Request: can't parse JSON field");
  }
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Until the response can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req as AsyncIterable<Buffer>) {
    // discard
  }
}
