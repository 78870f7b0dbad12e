import { createHash, randomBytes } from 'node:crypto';
import { snowflake } from './snowflake.js';
import type {
  Failure,
  FakeDiscordOptions,
  FakeDiscordRoute,
  FakeInteraction,
  FakeMessage,
  FakeUser,
  GatewaySessionRecord,
  RecordedRequest,
  RegisteredCommand,
  StoredFile,
  UnfriendlyMode,
  UserFile,
} from './types.js';

export interface ChannelRecord {
  id: string;
  type: 0 | 1 | 11;
  name?: string;
  guildId?: string;
  parentId?: string;
  /** DM channels: the person at the other end. */
  recipient?: FakeUser;
}

interface CdnFile {
  bytes: Buffer;
  contentType?: string;
  expiresAt: number;
}

/** Everything the fake knows, and the records tests read. */
export class FakeDiscordState {
  readonly token: string;
  readonly applicationId = snowflake();
  readonly botUser: FakeUser;
  readonly guildId = snowflake();
  readonly channelId = snowflake();
  readonly threadId = snowflake();
  readonly users: { alice: FakeUser; bob: FakeUser };
  readonly channels = new Map<string, ChannelRecord>();
  readonly dms = new Map<string, string>();
  readonly messageList: FakeMessage[] = [];
  readonly messagesById = new Map<string, FakeMessage>();
  readonly interactions = new Map<string, FakeInteraction>();
  readonly expiredInteractions = new Set<string>();
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly sessions: GatewaySessionRecord[] = [];
  readonly commands = { global: [] as RegisteredCommand[], guild: new Map<string, RegisteredCommand[]>() };
  readonly expiredTokenUses: string[] = [];
  readonly nonces = new Map<string, { messageId: string; at: number }>();
  readonly cdn = new Map<string, CdnFile>();
  /** A person's message: its attachments as Discord lists them (signed CDN URLs). */
  readonly userAttachments = new Map<string, Array<Record<string, unknown>>>();
  private readonly failures = new Map<FakeDiscordRoute, Failure[]>();

  readonly heartbeatIntervalMs: number;
  readonly interactionTokenLifeMs: number;
  readonly ackDeadlineMs: number;
  readonly maxUploadBytes: number;
  readonly attachmentSizeLimit: number;
  readonly nonceWindowMs: number;
  readonly cdnLinkLifeMs: number;
  /** Epoch ms until which the gateway answers upgrades with 503. */
  readonly refuseGatewayUntil: number;
  readonly gatewayRejectsToken: boolean;
  manageMessages: boolean;
  /** Users whose privacy settings refuse DMs from the guild's members. */
  readonly closedDms = new Set<string>();
  refusedGatewayConnections = 0;
  unfriendly: UnfriendlyMode = {};

  constructor(
    readonly baseUrl: string,
    options: FakeDiscordOptions,
  ) {
    this.token = options.token ?? `${Buffer.from(this.applicationId).toString('base64url')}.${randomBytes(5).toString('base64url')}.${randomBytes(28).toString('base64url')}`;
    this.botUser = { id: this.applicationId, username: 'NemoVideo', bot: true };
    this.users = {
      alice: { id: snowflake(), username: 'alice', bot: false },
      bob: { id: snowflake(), username: 'bob', bot: false },
    };
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.interactionTokenLifeMs = options.interactionTokenLifeMs ?? 15 * 60_000;
    this.ackDeadlineMs = options.ackDeadlineMs ?? 3000;
    this.maxUploadBytes = options.maxUploadBytes ?? 10 * 1024 * 1024;
    this.attachmentSizeLimit = options.attachmentSizeLimit ?? this.maxUploadBytes;
    this.nonceWindowMs = options.nonceWindowMs ?? 5 * 60_000;
    this.cdnLinkLifeMs = options.cdnLinkLifeMs ?? 86_400_000;
    this.refuseGatewayUntil = Date.now() + (options.refuseGatewayForMs ?? 0);
    this.gatewayRejectsToken = options.gatewayRejectsToken ?? false;
    this.manageMessages = options.manageMessages ?? true;
    this.channels.set(this.channelId, { id: this.channelId, type: 0, name: 'general', guildId: this.guildId });
    this.channels.set(this.threadId, { id: this.threadId, type: 11, name: 'ideas', guildId: this.guildId, parentId: this.channelId });
  }

  violation(text: string): void {
    this.violations.push(text);
  }

  failNext(route: FakeDiscordRoute, failure: Failure, times: number): void {
    const queue = this.failures.get(route) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.failures.set(route, queue);
  }

  takeFailure(route: FakeDiscordRoute): Failure | undefined {
    return this.failures.get(route)?.shift();
  }

  dmChannel(user: FakeUser): string {
    const existing = this.dms.get(user.id);
    if (existing) return existing;
    const id = snowflake();
    this.channels.set(id, { id, type: 1, recipient: user });
    this.dms.set(user.id, id);
    return id;
  }

  addMessage(message: FakeMessage): FakeMessage {
    this.messageList.push(message);
    this.messagesById.set(message.id, message);
    return message;
  }

  /** Files a person attaches: served by the fake CDN at a signed, expiring URL. */
  storeUserFile(channelId: string, file: UserFile): { id: string; filename: string; size: number; url: string; proxy_url: string; content_type?: string } {
    const id = snowflake();
    const expiresAt = Date.now() + this.cdnLinkLifeMs;
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(file.name)}`;
    this.cdn.set(path, { bytes: file.bytes, ...(file.contentType ? { contentType: file.contentType } : {}), expiresAt });
    const signature = createHash('sha256').update(`${path}:${expiresAt}`).digest('hex').slice(0, 32);
    const query = `?ex=${Math.floor(expiresAt / 1000).toString(16)}&is=${Math.floor(Date.now() / 1000).toString(16)}&hm=${signature}&`;
    return {
      id,
      filename: file.name,
      size: file.declaredSize ?? file.bytes.length,
      url: `${this.baseUrl}${path}${query}`,
      proxy_url: `${this.baseUrl}${path}${query}`,
      ...(file.contentType ? { content_type: file.contentType } : {}),
    };
  }

  /** The token of a live interaction, or why it is refused. */
  interactionByToken(applicationId: string, token: string): { interaction?: FakeInteraction; refusal?: { status: number; code: number; message: string } } {
    if (applicationId !== this.applicationId) return { refusal: { status: 404, code: 10015, message: 'Unknown Webhook' } };
    const interaction = [...this.interactions.values()].find((candidate) => candidate.token === token);
    if (!interaction) return { refusal: { status: 401, code: 50027, message: 'Invalid Webhook Token' } };
    if (this.expiredInteractions.has(interaction.id) || Date.now() - interaction.createdAt >= this.interactionTokenLifeMs) {
      this.expiredTokenUses.push(interaction.id);
      return { refusal: { status: 401, code: 50027, message: 'Invalid Webhook Token' } };
    }
    return { interaction };
  }
}

export function storedFile(filename: string, contentType: string | undefined, bytes: Buffer): StoredFile {
  return {
    filename,
    ...(contentType ? { contentType } : {}),
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes,
  };
}

export function newMessage(input: Omit<FakeMessage, 'id' | 'history' | 'createdAt' | 'ephemeral' | 'loading' | 'components' | 'files' | 'mentionsBot'> &
  Partial<Pick<FakeMessage, 'ephemeral' | 'loading' | 'components' | 'files' | 'mentionsBot'>>): FakeMessage {
  return {
    id: snowflake(),
    history: [input.content],
    createdAt: Date.now(),
    ephemeral: false,
    loading: false,
    components: [],
    files: [],
    mentionsBot: false,
    ...input,
  };
}
