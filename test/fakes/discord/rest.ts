import type { IncomingMessage, ServerResponse } from 'node:http';
import { readMultipart } from '../nemo/multipart.js';
import type { FakeGateway } from './gateway.js';
import { Intents } from './gateway.js';
import { channelPayload, messagePayload } from './payloads.js';
import { snowflake } from './snowflake.js';
import { newMessage, storedFile, type FakeDiscordState } from './state.js';
import type { FakeDiscordRoute, FakeInteraction, FakeMessage, RecordedRequest, RegisteredCommand, StoredFile } from './types.js';

const MAX_CONTENT = 2000;
// What Discord turns into a ping unless allowed_mentions says otherwise.
const PING = /@everyone|@here|<@[!&]?\d+>/;
const MAX_JSON_BYTES = 1024 * 1024;

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  state: FakeDiscordState;
  gateway: FakeGateway;
  /** Decoded path segments after `/api/v10`. */
  parts: string[];
  query: URLSearchParams;
  auth: 'bot' | 'none' | 'other';
  record: RecordedRequest;
}

interface Body {
  json: Record<string, unknown> | undefined;
  files: StoredFile[];
  fileBytes: number;
  malformed?: string;
}

type Handler = (context: Context) => Promise<void> | void;

interface RouteDef {
  method: string;
  pattern: RegExp;
  route: FakeDiscordRoute;
  access: 'bot' | 'interaction';
  handle: Handler;
}

const ROUTES: RouteDef[] = [
  { method: 'GET', pattern: /^gateway\/bot$/, route: 'gateway-bot', access: 'bot', handle: gatewayBot },
  { method: 'GET', pattern: /^applications\/@me$/, route: 'application', access: 'bot', handle: application },
  { method: 'PUT', pattern: /^applications\/\d+\/commands$/, route: 'commands', access: 'bot', handle: putCommands },
  { method: 'PUT', pattern: /^applications\/\d+\/guilds\/\d+\/commands$/, route: 'commands', access: 'bot', handle: putCommands },
  { method: 'POST', pattern: /^channels\/\d+\/messages$/, route: 'create-message', access: 'bot', handle: createMessage },
  { method: 'PATCH', pattern: /^channels\/\d+\/messages\/\d+$/, route: 'edit-message', access: 'bot', handle: editMessage },
  { method: 'POST', pattern: /^interactions\/\d+\/[^/]+\/callback$/, route: 'interaction-callback', access: 'interaction', handle: interactionCallback },
  { method: 'PATCH', pattern: /^webhooks\/\d+\/[^/]+\/messages\/[^/]+$/, route: 'webhook-edit', access: 'interaction', handle: webhookEdit },
  { method: 'GET', pattern: /^webhooks\/\d+\/[^/]+\/messages\/[^/]+$/, route: 'webhook-edit', access: 'interaction', handle: webhookGet },
  { method: 'DELETE', pattern: /^webhooks\/\d+\/[^/]+\/messages\/[^/]+$/, route: 'webhook-delete', access: 'interaction', handle: webhookDelete },
  { method: 'POST', pattern: /^webhooks\/\d+\/[^/]+$/, route: 'followup', access: 'interaction', handle: followup },
  { method: 'POST', pattern: /^users\/@me\/channels$/, route: 'create-dm', access: 'bot', handle: createDm },
  { method: 'DELETE', pattern: /^channels\/\d+\/messages\/\d+$/, route: 'delete-message', access: 'bot', handle: deleteMessage },
];

/** Answers one HTTP request: the REST API under `/api/v10`, and the attachment CDN. */
export async function handleRequest(state: FakeDiscordState, gateway: FakeGateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const authorization = req.headers.authorization;
  const auth: Context['auth'] = authorization === undefined ? 'none' : authorization === `Bot ${state.token}` ? 'bot' : 'other';
  const record: RecordedRequest = { method: req.method ?? 'GET', rawPath, route: 'unknown', auth, status: 0, at: Date.now() };
  state.requests.push(record);
  res.on('finish', () => {
    record.status = res.statusCode;
  });
  if (rawPath.includes(state.token) || (req.url ?? '').includes(state.token)) state.violation(`${record.method} ${rawPath}: bot token in the URL`);

  try {
    if (req.method === 'GET' && rawPath.startsWith('/attachments/')) {
      record.route = 'cdn';
      return cdn(state, rawPath, query, res);
    }
    const match = /^\/api\/v(\d+)\/(.*)$/.exec(rawPath);
    if (!match) {
      await drain(req);
      return sendError(res, 404, 0, '404: Not Found');
    }
    if (match[1] !== '10') state.violation(`${record.method} ${rawPath}: API version ${match[1]}, not 10`);
    const parts = (match[2] ?? '').split('/').map((part) => decodeURIComponent(part));
    const path = parts.join('/');
    const def = ROUTES.find((candidate) => candidate.method === req.method && candidate.pattern.test(path));
    if (!def) {
      state.violation(`unexpected request ${record.method} ${maskTokens(rawPath)}`);
      await drain(req);
      return sendError(res, 404, 0, '404: Not Found');
    }
    record.route = def.route;
    const context: Context = { req, res, state, gateway, parts, query, auth, record };
    if (def.access === 'bot' && auth !== 'bot') {
      await drain(req);
      return sendError(res, 401, 0, '401: Unauthorized');
    }
    if (def.access === 'interaction' && auth !== 'none') {
      state.violation(`${record.method} ${maskTokens(rawPath)}: Authorization header on an interaction route`);
    }
    const failure = state.takeFailure(def.route);
    if (failure) {
      await drain(req);
      if (failure.status === 429 && 'retryAfterSeconds' in failure) {
        const headers: Record<string, string> = {
          'Retry-After': String(failure.retryAfterSeconds),
          'X-RateLimit-Scope': failure.global ? 'global' : 'user',
          'X-RateLimit-Limit': '5',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset-After': String(failure.retryAfterSeconds),
          'X-RateLimit-Bucket': `bucket-${def.route}`,
          ...(failure.global ? { 'X-RateLimit-Global': 'true' } : {}),
        };
        return sendJson(res, 429, { message: 'You are being rate limited.', retry_after: failure.retryAfterSeconds, global: failure.global ?? false }, headers);
      }
      const code = 'code' in failure ? failure.code : undefined;
      const message = 'message' in failure ? failure.message : undefined;
      return sendError(res, failure.status, code ?? 0, message ?? `scripted ${failure.status}`);
    }
    await def.handle(context);
  } catch (error) {
    // The client gave up mid-request (an upload aborted): nothing to answer, nothing wrong here.
    if ((req.destroyed && (error as NodeJS.ErrnoException).code === 'ECONNRESET') || (error as Error).message === 'aborted') return;
    state.violation(`fake failed on ${record.method} ${maskTokens(rawPath)}: ${(error as Error).message}`);
    if (!res.headersSent) sendError(res, 500, 0, 'fake internal error');
  }
}

function maskTokens(path: string): string {
  return path.replace(/(\/(?:webhooks|interactions)\/\d+\/)[^/]+/, '$1:token');
}

// ---- bodies --------------------------------------------------------------------------------

async function readBody(context: Context): Promise<Body> {
  const body = await readAnyBody(context);
  if (body.json !== undefined) context.record.body = body.json;
  return body;
}

async function readAnyBody(context: Context): Promise<Body> {
  const type = context.req.headers['content-type'] ?? '';
  const boundary = /^multipart\/form-data;.*boundary=("?)([^";]+)\1/i.exec(type)?.[2];
  if (boundary !== undefined) return readMultipartBody(context, boundary);
  if (!/^application\/json/i.test(type)) {
    await drain(context.req);
    return { json: undefined, files: [], fileBytes: 0, malformed: `content-type ${type || 'missing'}` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of context.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_JSON_BYTES) chunks.push(chunk);
  }
  try {
    return { json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, files: [], fileBytes: 0 };
  } catch {
    return { json: undefined, files: [], fileBytes: 0, malformed: 'body is not JSON' };
  }
}

/** Reads every part to the end (a refused upload still gets its answer), keeping files up to the limit. */
async function readMultipartBody(context: Context, boundary: string): Promise<Body> {
  const { state } = context;
  let json: Record<string, unknown> | undefined;
  let malformed: string | undefined;
  const files: StoredFile[] = [];
  let fileBytes = 0;
  await readMultipart(context.req, boundary, (headers) => {
    const chunks: Buffer[] = [];
    let kept = true;
    return {
      data(chunk) {
        if (headers.filename !== undefined) {
          fileBytes += chunk.length;
          if (fileBytes > state.maxUploadBytes) kept = false;
        }
        if (kept) chunks.push(chunk);
      },
      end() {
        if (headers.name === 'payload_json') {
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            malformed = 'payload_json is not JSON';
          }
        } else if (headers.filename !== undefined && /^files\[\d+\]$/.test(headers.name ?? '')) {
          if (kept) files.push(storedFile(headers.filename, headers.contentType, Buffer.concat(chunks)));
        } else {
          malformed = `unexpected multipart field ${headers.name ?? '?'}`;
        }
      },
    };
  });
  return { json, files, fileBytes, ...(malformed ? { malformed } : {}) };
}

/** Checks a message body as Discord would; answers and returns false when it refuses it. */
function validMessage(context: Context, body: Body, what: string): boolean {
  const { state, res } = context;
  if (body.malformed !== undefined || body.json === undefined) {
    state.violation(`${what}: ${body.malformed ?? 'no body'}`);
    sendError(res, 400, 50109, 'The request body contains invalid JSON.');
    return false;
  }
  if (body.fileBytes > state.maxUploadBytes) {
    sendError(res, 413, 40005, 'Request entity too large');
    return false;
  }
  const content = body.json.content;
  if (content !== undefined && typeof content !== 'string') {
    state.violation(`${what}: content is not a string`);
    sendError(res, 400, 50035, 'Invalid Form Body');
    return false;
  }
  if (typeof content === 'string' && [...content].length > MAX_CONTENT) {
    state.violation(`${what}: content of ${[...content].length} characters`);
    sendError(res, 400, 50035, 'Invalid Form Body\ncontent[BASE_TYPE_MAX_LENGTH]: Must be 2000 or fewer in length.');
    return false;
  }
  if (typeof content === 'string' && PING.test(content) && !pingsNobody(body.json.allowed_mentions)) {
    state.violation(`${what}: content that mentions (${PING.exec(content)?.[0] ?? ''}) without allowed_mentions {parse: []}: it would ping`);
  }
  const attachments = body.json.attachments;
  if (body.files.length > 0 && (!Array.isArray(attachments) || attachments.length !== body.files.length)) {
    state.violation(`${what}: files sent without matching attachments in payload_json`);
  }
  for (const attachment of Array.isArray(attachments) ? (attachments as Array<Record<string, unknown>>) : []) {
    const description = attachment.description;
    if (description !== undefined && (typeof description !== 'string' || description.length > 1024)) {
      state.violation(`${what}: attachment description is not a string of at most 1024 characters`);
    }
  }
  return true;
}

/** The files with the descriptions `payload_json.attachments` gave them (Discord's alt text). */
function described(body: Body): StoredFile[] {
  const attachments = Array.isArray(body.json?.attachments) ? (body.json.attachments as Array<Record<string, unknown>>) : [];
  return body.files.map((file, index) => {
    const description = attachments[index]?.description;
    return typeof description === 'string' ? { ...file, description } : file;
  });
}

// ---- routes --------------------------------------------------------------------------------

function gatewayBot({ res, gateway }: Context): void {
  sendJson(res, 200, {
    url: gateway.url,
    shards: 1,
    session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
  });
}

function application({ res, state }: Context): void {
  sendJson(res, 200, { id: state.applicationId, name: 'NemoVideo', description: '', bot_public: true, bot_require_code_grant: false, flags: 0, verify_key: '0'.repeat(64) });
}

async function putCommands(context: Context): Promise<void> {
  const { state, res, parts } = context;
  const body = await readBody(context);
  if (parts[1] !== state.applicationId) return sendError(res, 403, 50001, 'Missing Access');
  if (!Array.isArray(body.json)) {
    state.violation('commands: body is not an array');
    return sendError(res, 400, 50035, 'Invalid Form Body');
  }
  const commands = (body.json as unknown[]).map((raw) => {
    const command = raw as RegisteredCommand & { type?: number };
    if (!/^[-_\p{L}\p{N}]{1,32}$/u.test(command.name) || command.name !== command.name.toLowerCase()) state.violation(`commands: bad name ${command.name}`);
    for (const name of Object.values(command.name_localizations ?? {})) {
      if (!/^[-_\p{L}\p{N}]{1,32}$/u.test(name)) state.violation(`commands: bad localized name ${name}`);
    }
    if (typeof command.description !== 'string' || command.description.length < 1 || command.description.length > 100) {
      state.violation(`commands: bad description for ${command.name}`);
    }
    return { ...command, id: snowflake() };
  });
  if (parts[2] === 'guilds') {
    const guildId = parts[3] ?? '';
    if (guildId !== state.guildId) return sendError(res, 403, 50001, 'Missing Access');
    state.commands.guild.set(guildId, commands);
  } else {
    state.commands.global = commands;
  }
  sendJson(res, 200, commands.map((c) => ({ ...c, application_id: state.applicationId, version: snowflake() })));
}

async function createMessage(context: Context): Promise<void> {
  const { state, res, parts } = context;
  const channelId = parts[1] ?? '';
  const body = await readBody(context);
  const channel = state.channels.get(channelId);
  if (!channel) return sendError(res, 404, 10003, 'Unknown Channel');
  if (!validMessage(context, body, `POST /channels/${channelId}/messages`)) return;
  if (channel.type === 1 && channel.recipient && state.closedDms.has(channel.recipient.id)) return sendError(res, 403, 50007, 'Cannot send messages to this user');
  if (refusedUpload(context, body)) return;
  const json = body.json ?? {};
  const content = typeof json.content === 'string' ? json.content : '';
  if (content === '' && body.files.length === 0) {
    state.violation('create-message: empty message');
    return sendError(res, 400, 50006, 'Cannot send an empty message');
  }
  const nonce = typeof json.nonce === 'string' || typeof json.nonce === 'number' ? String(json.nonce) : undefined;
  if (nonce !== undefined && nonce.length > 25) state.violation(`create-message: nonce of ${nonce.length} characters`);
  if (nonce !== undefined && json.enforce_nonce === true) {
    const key = `${channelId}:${state.botUser.id}:${nonce}`;
    const seen = state.nonces.get(key);
    const existing = seen && Date.now() - seen.at < state.nonceWindowMs ? state.messagesById.get(seen.messageId) : undefined;
    if (existing) return answerMessage(context, existing);
  }
  const message = state.addMessage(
    newMessage({
      channelId,
      ...(channel.guildId ? { guildId: channel.guildId } : {}),
      author: state.botUser,
      content,
      via: 'bot',
      components: Array.isArray(json.components) ? json.components : [],
      files: described(body),
      ...(nonce !== undefined ? { nonce } : {}),
    }),
  );
  if (nonce !== undefined && json.enforce_nonce === true) state.nonces.set(`${channelId}:${state.botUser.id}:${nonce}`, { messageId: message.id, at: Date.now() });
  announce(context, message);
  answerMessage(context, message);
}

async function editMessage(context: Context): Promise<void> {
  const { state, res, parts } = context;
  const body = await readBody(context);
  const message = state.messagesById.get(parts[3] ?? '');
  if (!message || message.channelId !== parts[1] || message.ephemeral) return sendError(res, 404, 10008, 'Unknown Message');
  // Interaction replies are edited through the interaction's webhook only.
  if (message.via !== 'bot') return sendError(res, 403, 50005, 'Cannot edit a message authored by another user');
  if (!validMessage(context, body, `PATCH /channels/${message.channelId}/messages/${message.id}`)) return;
  if (refusedEdit(context)) return;
  applyEdit(message, body.json ?? {});
  answerMessage(context, message);
}

async function interactionCallback(context: Context): Promise<void> {
  const { state, res, parts, query } = context;
  const body = await readBody(context);
  const interaction = state.interactions.get(parts[1] ?? '');
  if (!interaction || interaction.token !== parts[2]) return sendError(res, 404, 10062, 'Unknown interaction');
  if (interaction.ackType !== undefined) return sendError(res, 400, 40060, 'Interaction has already been acknowledged.');
  if (Date.now() - interaction.createdAt > state.ackDeadlineMs) return sendError(res, 404, 10062, 'Unknown interaction');
  const json = body.json ?? {};
  const type = json.type;
  const data = (json.data ?? {}) as Record<string, unknown>;
  const ephemeral = typeof data.flags === 'number' && (data.flags & 64) !== 0;
  interaction.ackAt = Date.now();
  let message: FakeMessage | undefined;
  switch (type) {
    case 4:
    case 5: {
      if (!validMessage(context, { ...body, json: data }, 'interaction callback')) return;
      message = state.addMessage(
        newMessage({
          channelId: interaction.channelId,
          ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
          author: state.botUser,
          content: type === 4 && typeof data.content === 'string' ? data.content : '',
          via: 'interaction',
          interactionId: interaction.id,
          ephemeral,
          loading: type === 5,
          components: Array.isArray(data.components) ? data.components : [],
        }),
      );
      interaction.originalMessageId = message.id;
      if (!ephemeral) announce(context, message);
      break;
    }
    case 6:
      break;
    default:
      state.violation(`interaction callback type ${String(type)} not expected from this bot`);
      interaction.ackAt = undefined;
      return sendError(res, 400, 50035, 'Invalid Form Body');
  }
  interaction.ackType = type;
  if (query.get('with_response') === 'true') {
    return sendJson(res, 200, {
      interaction: { id: interaction.id, type: interaction.kind === 'command' ? 2 : 3, response_message_id: message?.id, response_message_loading: type === 5, response_message_ephemeral: ephemeral },
      resource: { type, ...(message ? { message: messagePayload(state, message) } : {}) },
    });
  }
  res.writeHead(204).end();
}

/** `POST /users/@me/channels {recipient_id}`: the DM channel with that person (made once). */
async function createDm(context: Context): Promise<void> {
  const { state, res } = context;
  const body = await readBody(context);
  const recipientId = (body.json ?? {}).recipient_id;
  const user = Object.values(state.users).find((candidate) => candidate.id === recipientId);
  if (!user) return sendError(res, 400, 50035, 'Invalid Form Body');
  const channel = state.channels.get(state.dmChannel(user));
  sendJson(res, 200, channel ? channelPayload(channel) : {});
}

/** `DELETE /channels/{id}/messages/{id}`: the bot's own always; a person's in a guild only with Manage Messages. */
async function deleteMessage(context: Context): Promise<void> {
  const { state, res, parts, gateway } = context;
  await drain(context.req);
  const channel = state.channels.get(parts[1] ?? '');
  const message = state.messagesById.get(parts[3] ?? '');
  if (!channel) return sendError(res, 404, 10003, 'Unknown Channel');
  if (!message || message.channelId !== channel.id || message.deleted || message.ephemeral) return sendError(res, 404, 10008, 'Unknown Message');
  const own = message.author.id === state.botUser.id;
  if (!own && channel.type === 1) return sendError(res, 403, 50003, 'Cannot execute action on a DM channel');
  if (!own && !state.manageMessages) return sendError(res, 403, 50013, 'Missing Permissions');
  message.deleted = true;
  gateway.broadcast('MESSAGE_DELETE', (intents) =>
    (intents & Intents.GuildMessages) === 0 ? undefined : { id: message.id, channel_id: channel.id, ...(channel.guildId ? { guild_id: channel.guildId } : {}) },
  );
  res.writeHead(204).end();
}

function webhookTarget(context: Context): { interaction: FakeInteraction; message?: FakeMessage } | undefined {
  const { state, res, parts } = context;
  const { interaction, refusal } = state.interactionByToken(parts[1] ?? '', parts[2] ?? '');
  if (!interaction) {
    sendError(res, refusal?.status ?? 401, refusal?.code ?? 50027, refusal?.message ?? 'Invalid Webhook Token');
    return undefined;
  }
  const messageId = parts[4] === '@original' ? interaction.originalMessageId : parts[4];
  const message = messageId === undefined ? undefined : state.messagesById.get(messageId);
  if (parts[4] !== undefined && (!message || message.interactionId !== interaction.id)) {
    sendError(res, 404, 10008, 'Unknown Message');
    return undefined;
  }
  return { interaction, ...(message ? { message } : {}) };
}

async function webhookEdit(context: Context): Promise<void> {
  const body = await readBody(context);
  const target = webhookTarget(context);
  if (!target?.message) return;
  if (!validMessage(context, body, 'webhook edit')) return;
  if (refusedEdit(context)) return;
  const wasLoading = target.message.loading;
  applyEdit(target.message, body.json ?? {});
  target.message.loading = false;
  if (wasLoading && target.message.history[0] === '') target.message.history.shift();
  answerMessage(context, target.message);
}

function webhookGet(context: Context): void {
  const target = webhookTarget(context);
  if (!target?.message) return;
  sendJson(context.res, 200, messagePayload(context.state, target.message));
}

/** Deletes an interaction's reply (the deferred "thinking…" one too) through its webhook. */
async function webhookDelete(context: Context): Promise<void> {
  await drain(context.req);
  const target = webhookTarget(context);
  if (!target?.message) return;
  if (target.message.deleted) return sendError(context.res, 404, 10008, 'Unknown Message');
  target.message.deleted = true;
  context.res.writeHead(204).end();
}

async function followup(context: Context): Promise<void> {
  const { state, res } = context;
  const body = await readBody(context);
  const target = webhookTarget(context);
  if (!target) return;
  const { interaction } = target;
  if (interaction.ackType === undefined) return sendError(res, 404, 10015, 'Unknown Webhook');
  if (!validMessage(context, body, 'followup')) return;
  if (refusedUpload(context, body)) return;
  const json = body.json ?? {};
  const ephemeral = typeof json.flags === 'number' && (json.flags & 64) !== 0;
  const message = state.addMessage(
    newMessage({
      channelId: interaction.channelId,
      ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
      author: state.botUser,
      content: typeof json.content === 'string' ? json.content : '',
      via: 'interaction',
      interactionId: interaction.id,
      ephemeral,
      components: Array.isArray(json.components) ? json.components : [],
      files: described(body),
    }),
  );
  interaction.followupIds.push(message.id);
  if (!ephemeral) announce(context, message);
  answerMessage(context, message);
}

function cdn(state: FakeDiscordState, rawPath: string, query: URLSearchParams, res: ServerResponse): void {
  const file = state.cdn.get(rawPath);
  const expires = Number.parseInt(query.get('ex') ?? '', 16) * 1000;
  if (!file || !query.get('hm') || !Number.isFinite(expires) || Date.now() > file.expiresAt) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('This content is no longer available.');
    return;
  }
  res.writeHead(200, { 'Content-Type': file.contentType ?? 'application/octet-stream', 'Content-Length': String(file.bytes.length) });
  res.end(file.bytes);
}

// ---- helpers -------------------------------------------------------------------------------

function pingsNobody(allowed: unknown): boolean {
  if (typeof allowed !== 'object' || allowed === null) return false;
  const { parse, users, roles } = allowed as { parse?: unknown; users?: unknown; roles?: unknown };
  const empty = (list: unknown) => list === undefined || (Array.isArray(list) && list.length === 0);
  return Array.isArray(parse) && parse.length === 0 && empty(users) && empty(roles);
}

/** The message as Discord answers it, or (unfriendly, `shapeless`) a 200 that is not a message. */
function answerMessage({ state, res }: Context, message: FakeMessage): void {
  if (state.unfriendly.shapeless) {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' }).end('OK');
    return;
  }
  sendJson(res, 200, messagePayload(state, message));
}

/** Unfriendly mode: an edit refused with a real Discord error. */
function refusedEdit({ state, res, record }: Context): boolean {
  switch (state.unfriendly.edits) {
    case 10008:
      sendError(res, 404, 10008, 'Unknown Message');
      return true;
    case 50027:
      // Only the interaction's webhook has a token to refuse.
      if (record.route !== 'webhook-edit') return false;
      sendError(res, 401, 50027, 'Invalid Webhook Token');
      return true;
    case 500:
      sendError(res, 500, 0, '500: Internal Server Error');
      return true;
    default:
      return false;
  }
}

/** Unfriendly mode: a post with a file refused (400 as for a malformed form, or 500). */
function refusedUpload({ state, res }: Context, body: Body): boolean {
  if (body.files.length === 0 || state.unfriendly.uploads === undefined) return false;
  if (state.unfriendly.uploads === 400) sendError(res, 400, 50035, 'Invalid Form Body\nfiles[0][BASE_TYPE_BAD_FILE]: The file could not be read.');
  else sendError(res, 500, 0, '500: Internal Server Error');
  return true;
}

function applyEdit(message: FakeMessage, json: Record<string, unknown>): void {
  if (typeof json.content === 'string') {
    message.content = json.content;
    message.history.push(json.content);
  }
  if (Array.isArray(json.components)) message.components = json.components;
}

/** The bot sees its own messages on the gateway too, as Discord sends them. */
function announce({ state, gateway }: Context, message: FakeMessage): void {
  const channel = state.channels.get(message.channelId);
  const needed = channel?.type === 1 ? Intents.DirectMessages : Intents.GuildMessages;
  gateway.broadcast('MESSAGE_CREATE', (intents) =>
    (intents & needed) === 0 ? undefined : { ...messagePayload(state, message), ...(channel?.type === 1 ? { channel_type: 1 } : {}) },
  );
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req as AsyncIterable<Buffer>) {
    // discard
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { message, code });
}
