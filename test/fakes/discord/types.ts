/** Routes a test can script failures on (`failNext`). */
export type FakeDiscordRoute =
  | 'gateway-bot'
  | 'application'
  | 'commands'
  | 'create-message'
  | 'edit-message'
  | 'interaction-callback'
  | 'webhook-edit'
  | 'webhook-delete'
  | 'followup'
  | 'create-dm'
  | 'delete-message'
  | 'cdn';

export type Failure =
  /** A 429 with `Retry-After` and `retry_after`; discord.js waits and repeats the request. */
  | { status: 429; retryAfterSeconds: number; global?: boolean }
  | { status: number; code?: number; message?: string };

export interface FakeDiscordOptions {
  /** The bot token the fake accepts (default: a realistic random one). */
  token?: string;
  /** Gateway heartbeat period given in HELLO (default 1000 ms). */
  heartbeatIntervalMs?: number;
  /** Interaction tokens answer 50027 after this long (Discord: 15 min). */
  interactionTokenLifeMs?: number;
  /** Interactions not acknowledged within this long answer 10062 (Discord: 3 s). */
  ackDeadlineMs?: number;
  /** Files above this many bytes in one message answer 413 / 40005 (Discord: 10 MiB). */
  maxUploadBytes?: number;
  /** `attachment_size_limit` reported in interactions (default: `maxUploadBytes`). */
  attachmentSizeLimit?: number;
  /** How long `enforce_nonce` dedupes a nonce (Discord: a few minutes; default 5 min). */
  nonceWindowMs?: number;
  /** How long attachment CDN links stay valid (default 1 day). */
  cdnLinkLifeMs?: number;
  /**
   * The gateway answers every WebSocket upgrade with HTTP 503 for this long after the fake
   * starts (an outage, or a proxy in front of a gateway still starting), then accepts.
   */
  refuseGatewayForMs?: number;
  /** The REST API accepts the token but the gateway closes IDENTIFY with 4004 (a revoked gateway session). */
  gatewayRejectsToken?: boolean;
  /** The bot has Manage Messages in the guild (default true): without it, deleting a person's message answers 403 / 50013. */
  manageMessages?: boolean;
}

/**
 * Answers of a server that is not quite Discord (`unfriendly`): each refuses with a real
 * Discord error, or answers in a shape discord.js does not expect.
 */
export interface UnfriendlyMode {
  /** Every message edit (channel PATCH and interaction webhook PATCH) is refused with this error. */
  edits?: 10008 | 50027 | 500;
  /** Every message post that carries a file is refused: 400 (50035 Invalid Form Body) or 500. */
  uploads?: 400 | 500;
  /** Message posts and edits succeed but answer 200 with a body that is not a message (plain text). */
  shapeless?: boolean;
}

/** How an interaction names its channel: Discord sends both; some servers only `channel_id`, or neither. */
export type InteractionChannel = 'object' | 'id-only' | 'none';

export interface FakeUser {
  id: string;
  username: string;
  bot: boolean;
}

export interface StoredFile {
  filename: string;
  contentType?: string;
  size: number;
  sha256: string;
  bytes: Buffer;
  /** The attachment's description from `payload_json` (Discord's alt text), when sent. */
  description?: string;
}

export interface FakeMessage {
  id: string;
  channelId: string;
  guildId?: string;
  author: FakeUser;
  content: string;
  /** Every content it had, first to last. */
  history: string[];
  components: unknown[];
  files: StoredFile[];
  /** user: a person; bot: posted with the bot token; interaction: through an interaction's token. */
  via: 'user' | 'bot' | 'interaction';
  interactionId?: string;
  ephemeral: boolean;
  /** A deferred reply not yet filled ("thinking…"). */
  loading: boolean;
  nonce?: string;
  mentionsBot: boolean;
  /** Deleted (it stays in the records, for tests to read what was shown). */
  deleted?: boolean;
  replyTo?: string;
  createdAt: number;
}

export interface FakeInteraction {
  id: string;
  token: string;
  kind: 'command' | 'button';
  name: string;
  userId: string;
  channelId: string;
  guildId?: string;
  createdAt: number;
  /** The callback's type (5 deferred, 4 message…), once acknowledged. */
  ackType?: number;
  ackAt?: number;
  originalMessageId?: string;
  followupIds: string[];
}

export interface RecordedRequest {
  method: string;
  /** As sent: the interaction routes hold the token, URL-encoded `%40original`. */
  rawPath: string;
  route: FakeDiscordRoute | 'unknown';
  /** `bot` when `Authorization: Bot <the token>`; `none` when absent; `other` otherwise. */
  auth: 'bot' | 'none' | 'other';
  status: number;
  at: number;
  /** The JSON body (or a multipart `payload_json`), once read. */
  body?: unknown;
}

export interface GatewaySessionRecord {
  id: string;
  intents: number;
  heartbeats: number;
  identified: boolean;
  closed: boolean;
  /** The session it identified or resumed. */
  sessionId?: string;
  /** Connected with RESUME instead of IDENTIFY. */
  resumed?: boolean;
}

export interface RegisteredCommand {
  id: string;
  name: string;
  description: string;
  name_localizations?: Record<string, string>;
  description_localizations?: Record<string, string>;
  options?: Array<{ name: string; type: number; required?: boolean; name_localizations?: Record<string, string> }>;
}

export interface UserFile {
  name: string;
  contentType?: string;
  bytes: Buffer;
  /** What Discord reports, when a test wants it to differ from the bytes served. */
  declaredSize?: number;
}

export interface FakeDiscord {
  readonly url: string;
  /** `DISCORD_API_URL` for the bot: `<url>/api`. */
  readonly apiUrl: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;
  readonly guildId: string;
  /** A text channel in the guild. */
  readonly channelId: string;
  /** A public thread under `channelId`. */
  readonly threadId: string;
  readonly users: { alice: FakeUser; bob: FakeUser };
  readonly requests: RecordedRequest[];
  /** Protocol mistakes by the client (Authorization on an interaction route, content too long…). */
  readonly violations: string[];
  readonly interactions: Map<string, FakeInteraction>;
  readonly sessions: GatewaySessionRecord[];
  readonly commands: { global: RegisteredCommand[]; guild: Map<string, RegisteredCommand[]> };
  /** Requests refused with 50027 because the interaction token had expired. */
  readonly expiredTokenUses: string[];
  /** Messages in a channel (DM channels included), oldest first; ephemeral ones too. */
  messages(channelId: string): FakeMessage[];
  message(id: string): FakeMessage | undefined;
  /** The DM channel between the bot and a user (created on first use). */
  dmChannel(user: FakeUser): string;
  /** Resolves once a gateway session has identified and received its guilds. */
  botConnected(): Promise<void>;
  /** WebSocket upgrades answered 503 by `refuseGatewayForMs`. */
  refusedGatewayConnections(): number;
  /** Closes every gateway connection with this code and reason (Discord does it with 4000, 4002, 4009…). */
  closeGateway(code: number, reason: string): void;
  /** Turns the unfriendly answers on (or, with `{}`, off). */
  unfriendly(mode: UnfriendlyMode): void;
  /** A person writes in a channel, thread or DM. */
  userMessage(input: { author: FakeUser; channelId: string; content: string; mentionBot?: boolean; replyTo?: string; files?: UserFile[] }): FakeMessage;
  /** A person runs a registered slash command. */
  slashCommand(input: {
    user: FakeUser;
    channelId: string;
    name: string;
    options?: { prompt?: string; file?: UserFile };
    locale?: string;
    channel?: InteractionChannel;
  }): FakeInteraction;
  /** An interaction that is not dispatched to any bot: for REST-only tests of the outbox. */
  openInteraction(input: { user: FakeUser; channelId: string }): FakeInteraction;
  /** A person presses a button of a message. */
  pressButton(input: {
    user: FakeUser;
    messageId: string;
    customId: string;
    locale?: string;
    channel?: InteractionChannel;
    /** Fields laid over the pressed message's payload (Spacebar sends `thread: null`). */
    messageOverrides?: Record<string, unknown>;
  }): FakeInteraction;
  failNext(route: FakeDiscordRoute, failure: Failure, times?: number): void;
  /** Every later request that uses this interaction's token answers 50027. */
  expireInteraction(interactionId: string): void;
  /** The person blocks DMs from the guild's members: the bot's DMs to them answer 403 / 50007. */
  closeDms(user: FakeUser): void;
  /** Gives or takes the bot's Manage Messages permission in the guild. */
  setManageMessages(allowed: boolean): void;
  close(): Promise<void>;
}
