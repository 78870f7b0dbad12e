import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { describeError } from '../lib/describe-error.js';
import { isExportable } from '../nemo/draft.js';
import { NemoApiError, NemoCode } from '../nemo/errors.js';
import type { AnonymousToken, Credits, NemoCredentials, NemoSession, SessionState, UploadedFile, UploadSource } from '../nemo/types.js';
import { ChatReply } from './chat-reply.js';
import type { AccessPolicy } from './access-policy.js';
import { login, logout, stats } from './account-commands.js';
import type { Conversation } from './conversation.js';
import { AnonymousTokenRefusedError, credentialsFor } from './credentials.js';
import type { DailyQuota, QuotaKind } from './daily-quota.js';
import type { ExportSlot } from './export-slot.js';
import type { FloodControl } from './flood-control.js';
import type { TokenCipher } from './token-cipher.js';
import type { UsageStats } from './usage-stats.js';
import { errorAnswer, isRedisUnavailable } from './error-reply.js';
import type { ReplyText } from './chat-reply.js';
import type { DocumentParser } from './documents.js';
import { detectLanguage, t } from './i18n.js';
import { route, type Route, type RouteAction } from './router.js';
import { sessionKeyId, type SessionKey, type SessionRecord, type SessionStore } from './session-store.js';
import { timelineSummary } from './timeline-text.js';
import type { EnterRefusal, PendingTurn, TurnGate } from './turn-gate.js';
import type { TurnJournal } from './turn-journal.js';
import { mediaLinksIn, receiveUploads, type UploadContext } from './upload-action.js';
import { recoverFromState, runChatTurn, type TurnApi, type TurnSettings } from './turn-runner.js';
import type { Attachment, ChatAddress, IncomingMessage, Language, MessageHandler, Outbox, Platform } from './types.js';
import { parseDraft } from '../nemo/draft.js';

/** The NemoVideo calls the engine makes (the client in `src/nemo` implements them). */
export interface EngineApi extends TurnApi {
  anonymousToken(clientId: string, platform: string): Promise<AnonymousToken>;
  createSession(cred: NemoCredentials, language: string): Promise<NemoSession>;
  claimToken(cred: NemoCredentials, taskId: string, sessionId: string): Promise<string>;
  uploadFile(cred: NemoCredentials, sessionId: string, file: UploadSource): Promise<UploadedFile[]>;
  uploadUrls(cred: NemoCredentials, sessionId: string, urls: string[]): Promise<UploadedFile[]>;
  credits(cred: NemoCredentials): Promise<Credits>;
  state(cred: NemoCredentials, sessionId: string): Promise<SessionState>;
}

/** What the engine hands to the render worker. */
export interface RenderRequest {
  renderId: string;
  sessionKey: SessionKey;
  sessionId: string;
  address: ChatAddress;
  language: Language;
  projectLink?: string;
  nemoUserId?: string;
  draft: unknown;
  correlationId: string;
}

export interface EngineSettings extends TurnSettings {
  webUrl: string;
  operatorToken?: string | undefined;
  documentMaxChars: number;
  /** Longer messages are refused with a friendly reply. */
  maxMessageChars: number;
  /** Daily limits per person on the operator's token (shown in the refusal). */
  userDailyTurns?: number | undefined;
  userDailyRenders?: number | undefined;
  userDailyUploads?: number | undefined;
  /** Flood control, named in the notices: turns that may wait per session, messages per minute per person. */
  maxQueuedTurns: number;
  userMessagesPerMinute: number;
  /** Media links one message may ask to upload. */
  maxLinksPerMessage: number;
}

/** A render in flight as the queue reports it: the phase, and the last poll's percent. */
export interface RenderProgress {
  phase: 'submit' | 'poll' | 'deliver';
  percent?: number;
}

export interface EngineDeps {
  api: EngineApi;
  sessions: SessionStore;
  gate: TurnGate;
  journal: TurnJournal;
  renders: {
    enqueue(request: RenderRequest): Promise<void>;
    inFlight(): Promise<number>;
    /** A render's progress; `over` once delivered or failed for good, `unknown` when there is no such job. */
    progress(renderId: string): Promise<RenderProgress | 'over' | 'unknown'>;
  };
  /** One render in flight per project. */
  exportSlot: Pick<ExportSlot, 'claim' | 'takeOver' | 'release'>;
  /** Per-person message rate. */
  flood: Pick<FloodControl, 'take' | 'rateCheck'>;
  access: AccessPolicy;
  quota: DailyQuota;
  usage: UsageStats;
  /** Parses .pdf and .docx off the event loop; absent: the process's shared pool. */
  documents?: DocumentParser | undefined;
  /** Seals personal tokens (`/login`); absent: `/login` is disabled. */
  cipher?: TokenCipher | undefined;
  outboxes: Partial<Record<Platform, Outbox>>;
  logger: Logger;
  settings: EngineSettings;
  sleep?: (ms: number) => Promise<void>;
  /** Turn counts and durations for the metrics endpoint. */
  metrics?: TurnMetrics | undefined;
}

export interface TurnMetrics {
  turns: { inc(labels: { outcome: string }): void };
  turnDuration: { observe(labels: { outcome: string }, seconds: number): void };
  keepAliveWaits: { inc(): void };
}

// Creating a project takes a second or two; another process waits this long for it at most.
const FIRST_CONTACT_LEASE_MS = 15_000;
const FIRST_CONTACT_POLL_MS = 100;
// Voice notes converted at once per process (ffmpeg runs one core each); the rest wait their turn.
const VOICE_CONVERSIONS_AT_ONCE = 2;
// An export slot whose render is not queued yet is taken to be starting (state read, claim link)
// this long; after it, its export is taken to have died, and another export takes the slot.
const EXPORT_START_GRACE_MS = 5 * 60_000;
/** A route's handler (see `Engine.handlers`). */
interface ActionHandler {
  run(conv: Conversation, message: IncomingMessage, routed: Route): Promise<void>;
  readsProject?: boolean;
}

/**
 * The conversation engine: routes each message, keeps one NemoVideo project per person and
 * chat, relays chat turns one at a time, and answers exports, credits and status itself.
 */
export class Engine implements MessageHandler {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly drains = new Set<Promise<void>>();
  private readonly firstContacts = new Map<string, Promise<SessionRecord>>();
  private readonly controllers = new Set<AbortController>();
  private stopping = false;

  private readonly uploadContext: UploadContext;

  constructor(private readonly deps: EngineDeps) {
    this.sleep = deps.sleep ?? ((ms) => delay(ms));
    this.uploadContext = {
      api: deps.api,
      documentMaxChars: deps.settings.documentMaxChars,
      maxRelayChars: deps.settings.maxMessageChars,
      documents: deps.documents,
      voiceSlots: pLimit(VOICE_CONVERSIONS_AT_ONCE),
      withProject: (conv, work) => this.withProject(conv, work),
      errorText: (conv, error, fileName) => this.errorText(conv, error, fileName),
      allowUploads: async (conv, count) => (await this.takeQuota(conv, 'uploads', count)) !== 'refused',
    };
  }

  async handle(message: IncomingMessage): Promise<void> {
    if (!message.addressed) return;
    const conv = this.conversation(message.address, detectLanguage(message.platformLanguage, message.text));
    if (!conv) return;
    conv.inboxId = message.inboxId;
    try {
      if (this.stopping) {
        await conv.reply.send(t(conv.lang, 'restartingTryAgain'));
        return;
      }
      const verdict = await this.deps.access.check(message.address);
      if (verdict !== 'allowed') {
        if (verdict === 'refuse') await conv.reply.send(t(conv.lang, 'notAllowed'));
        return;
      }
      await this.dispatch(conv, message);
    } catch (error) {
      if (error instanceof AnonymousTokenRefusedError) {
        conv.log.error({ err: describeError(error) }, 'NemoVideo refused a new anonymous token: set NEMO_TOKEN (an operator token) for this bot');
      } else {
        conv.log.error({ err: describeError(error) }, 'message failed');
      }
      await this.replyError(conv, error);
    }
    // The inbox entry is released by the intake that handed the message over (core/intake.ts).
  }

  private conversation(address: ChatAddress, lang: Language, correlationId: string = randomUUID()): Conversation | undefined {
    const outbox = this.deps.outboxes[address.platform];
    if (!outbox) {
      this.deps.logger.error({ platform: address.platform }, 'no outbox for platform');
      return undefined;
    }
    const key: SessionKey = { platform: address.platform, chatId: address.chatId, userId: address.userId };
    const cred = credentialsFor(
      { nemo: this.deps.api, sessions: this.deps.sessions, operatorToken: this.deps.settings.operatorToken, cipher: this.deps.cipher },
      address.platform,
      address.userId,
    );
    const log = this.deps.logger.child({ correlationId, platform: address.platform });
    const reply = new ChatReply(outbox, { ...address, progressMessageId: undefined }, lang, log);
    return { key, lang, reply, cred, log };
  }

  private async dispatch(conv: Conversation, message: IncomingMessage): Promise<void> {
    const { lang, reply } = conv;
    const tooLong = message.text.length > this.deps.settings.maxMessageChars;
    const routed = tooLong ? undefined : route(message.text, message.attachments.length > 0);
    // Flood control before any work: a chat turn is counted inside its ENTER script (no round trip
    // of its own); every other message here, with the project reads it will need alongside.
    if (routed?.action !== 'chat' && !(await this.admitted(conv, routed !== undefined && this.handlers[routed.action].readsProject === true))) return;
    if (!routed) {
      await reply.send(t(lang, 'tooLong', { max: this.deps.settings.maxMessageChars }));
      return;
    }
    await this.handlers[routed.action].run(conv, message, routed);
  }

  /**
   * What each route does: a key for every action of the command table (the compiler asks for a
   * new command's), and for the message kinds. `readsProject`: its project reads travel with the
   * rate check, in one round trip.
   */
  private readonly handlers: Readonly<Record<RouteAction, ActionHandler>> = {
    empty: { run: async ({ lang, reply }) => void (await reply.send(t(lang, 'emptyMessage'))) },
    unknown_command: {
      run: async ({ lang, reply }, _message, routed) => void (await reply.send(t(lang, 'unknownCommand', { command: `/${routed.command ?? routed.text}` }))),
    },
    help: { run: async ({ lang, reply }) => void (await reply.send(t(lang, 'help'))) },
    start: { readsProject: true, run: (conv) => this.start(conv) },
    new: { run: (conv) => this.newProject(conv) },
    credits: { readsProject: true, run: (conv) => this.credits(conv) },
    status: { readsProject: true, run: (conv) => this.status(conv) },
    export: { readsProject: true, run: (conv) => this.exportVideo(conv) },
    upload: { readsProject: true, run: (conv, message, routed) => this.upload(conv, message.attachments, routed.text) },
    login: { run: (conv, message, routed) => login(this.deps, conv, message, routed.text) },
    logout: { run: (conv) => logout(this.deps, conv) },
    stats: { run: (conv, message) => stats(this.deps, conv, message.address) },
    chat: { run: (conv, _message, routed) => this.chat(conv, routed.text, { uploadLinks: true, counted: false }) },
  };

  /** Creates the project on first contact; later, says what the bot can do. */
  private async start(conv: Conversation): Promise<void> {
    const existed = await this.deps.sessions.read(conv.key);
    await this.project(conv);
    if (existed) await conv.reply.send(t(conv.lang, 'help'));
  }

  /**
   * Counts the message against its sender's rate: false when over it (the first time this window
   * with a notice, then silently). `readsProject`: the session and identity reads start now too.
   */
  private async admitted(conv: Conversation, readsProject: boolean): Promise<boolean> {
    const verdict = this.deps.flood.take(conv.key.platform, conv.key.userId);
    if (readsProject) {
      conv.cred.warm();
      const prefetched = this.deps.sessions.read(conv.key);
      prefetched.catch(() => undefined);
      conv.prefetched = prefetched;
    }
    const result = await verdict;
    if (result !== 'ok') await this.tellRefused(conv, { reason: 'rate_limited', notify: result === 'tripped' });
    return result === 'ok';
  }

  /** One notice when a flood limit trips; later refusals of the same kind are silent. */
  private async tellRefused(conv: Conversation, refusal: EnterRefusal): Promise<void> {
    if (!refusal.notify) {
      conv.log.debug({ reason: refusal.reason }, 'message refused by flood control');
      return;
    }
    conv.log.warn({ reason: refusal.reason }, 'flood control tripped: refusing this person\'s messages for now');
    const { maxQueuedTurns, userMessagesPerMinute } = this.deps.settings;
    await conv.reply.send(
      refusal.reason === 'queue_full'
        ? t(conv.lang, 'queueFull', { waiting: maxQueuedTurns })
        : t(conv.lang, 'slowDown', { limit: userMessagesPerMinute }),
    );
  }

  /** False, after saying so, when a message asks to upload more links than one message may. */
  private async linksWithinCap(conv: Conversation, links: readonly string[]): Promise<boolean> {
    const max = this.deps.settings.maxLinksPerMessage;
    if (links.length <= max) return true;
    await conv.reply.send(t(conv.lang, 'tooManyLinks', { max }));
    return false;
  }

  /** The person's project, created on first contact with a short "setting up" and "ready". */
  private async project(conv: Conversation): Promise<SessionRecord> {
    const prefetched = conv.prefetched;
    conv.prefetched = undefined;
    const existing = await (prefetched ?? this.deps.sessions.read(conv.key));
    if (existing) return existing;
    // Messages that arrive together on first contact (`/start` and a prompt) share one project.
    const id = sessionKeyId(conv.key);
    let creating = this.firstContacts.get(id);
    if (!creating) {
      creating = this.firstContact(conv).finally(() => this.firstContacts.delete(id));
      this.firstContacts.set(id, creating);
    }
    return creating;
  }

  private async firstContact(conv: Conversation): Promise<SessionRecord> {
    const id = sessionKeyId(conv.key);
    // Across processes too: the first takes a short lease, the others wait for its record.
    const claim = this.deps.sessions.creationClaim(id, FIRST_CONTACT_LEASE_MS);
    const owner = (await claim.take()).taken;
    if (!owner) {
      const deadline = Date.now() + FIRST_CONTACT_LEASE_MS;
      while (Date.now() < deadline) {
        await this.sleep(FIRST_CONTACT_POLL_MS);
        const record = await this.deps.sessions.read(conv.key);
        if (record) return record;
      }
    }
    try {
      const again = await this.deps.sessions.read(conv.key);
      if (again) return again;
      await conv.reply.send(t(conv.lang, 'settingUp'));
      const record = await this.createProject(conv);
      await conv.reply.send(t(conv.lang, 'ready'));
      return record;
    } finally {
      // A failed creation must not make the person's next message wait out the lease.
      if (owner) await claim.release().catch(() => undefined);
    }
  }

  private async createProject(conv: Conversation): Promise<SessionRecord> {
    const session = await this.deps.api.createSession(conv.cred, conv.lang);
    let claimToken: string | undefined;
    try {
      claimToken = await this.deps.api.claimToken(conv.cred, session.taskId, session.sessionId);
    } catch (error) {
      // The project works without a browser link; it is fetched again at export.
      conv.log.warn({ err: describeError(error) }, 'claim token failed');
    }
    const now = Date.now();
    const record: SessionRecord = {
      taskId: session.taskId,
      sessionId: session.sessionId,
      nemoUserId: session.userId,
      language: conv.lang,
      createdAt: now,
      updatedAt: now,
      ...(claimToken ? { claimToken } : {}),
    };
    await this.deps.sessions.write(conv.key, record);
    conv.log.info({ taskId: session.taskId }, 'project created');
    return record;
  }

  /** Runs `work` on the project; when the service forgot the session (1002), starts a fresh one once. */
  private async withProject<T>(conv: Conversation, work: (record: SessionRecord) => Promise<T>): Promise<T> {
    const record = await this.project(conv);
    try {
      return await work(record);
    } catch (error) {
      if (!(error instanceof NemoApiError) || error.nemoCode !== NemoCode.SessionNotFound) throw error;
      conv.log.warn({}, 'session not found: starting a fresh project');
      await this.deps.sessions.delete(conv.key);
      const fresh = await this.createProject(conv);
      await conv.reply.send(t(conv.lang, 'sessionReplaced'));
      return work(fresh);
    }
  }

  private projectLink(record: SessionRecord): string | undefined {
    return record.claimToken ? `${this.deps.settings.webUrl}/workspace/claim?ct=${encodeURIComponent(record.claimToken)}` : undefined;
  }

  private async newProject(conv: Conversation): Promise<void> {
    await this.deps.gate.clear(conv.key);
    await this.deps.sessions.delete(conv.key);
    const record = await this.createProject(conv);
    const link = this.projectLink(record);
    const text = t(conv.lang, 'newProject');
    // The claim link opens the project for whoever has it: in a group it goes to the person privately.
    if (link) await conv.reply.sendPrivate(`${text}\n${t(conv.lang, 'projectLink', { link })}`, text);
    else await conv.reply.send(text);
  }

  private async credits(conv: Conversation): Promise<void> {
    // The token's identity read goes out with the session read: one Redis round trip for both.
    conv.cred.warm();
    await this.project(conv);
    const credits = await this.deps.api.credits(conv.cred);
    await conv.reply.send(t(conv.lang, 'credits', credits));
  }

  private async status(conv: Conversation): Promise<void> {
    conv.cred.warm();
    await this.withProject(conv, async (record) => {
      const state = await this.deps.api.state(conv.cred, record.sessionId);
      const link = this.projectLink(record);
      const summary = timelineSummary(parseDraft(state.draft), conv.lang);
      if (link) await conv.reply.sendPrivate(`${summary}\n\n${t(conv.lang, 'projectLink', { link })}`, summary);
      else await conv.reply.send(summary);
    });
  }

  private async exportVideo(conv: Conversation): Promise<void> {
    conv.cred.warm();
    await this.withProject(conv, async (record) => {
      // From the inbox id when there is one: a message handled again after a crash queues the same render.
      const renderId = conv.inboxId ? `render_${stableUuid(conv.inboxId)}` : `render_${randomUUID()}`;
      if (!(await this.claimExport(conv, record.sessionId, renderId))) return;
      let queued = false;
      try {
        const state = await this.deps.api.state(conv.cred, record.sessionId);
        if (!isExportable(state.draft)) {
          await conv.reply.send(t(conv.lang, 'nothingToExport'));
          return;
        }
        if ((await this.takeQuota(conv, 'renders')) === 'refused') return;
        const fresh = await this.refreshClaim(conv, record);
        const progressMessageId = await conv.reply.send(t(conv.lang, 'renderQueued'));
        // Only an anonymous person's id travels: the worker reads its presence as "anonymous", as `errorAnswer` does.
        const nemoUserId = (await conv.cred.isAnonymous()) ? ((await conv.cred.nemoUserId()) ?? record.nemoUserId) : undefined;
        const link = this.projectLink(fresh);
        await this.deps.renders.enqueue({
          renderId,
          sessionKey: conv.key,
          sessionId: record.sessionId,
          address: { ...conv.reply.address, progressMessageId },
          language: conv.lang,
          draft: state.draft,
          correlationId: renderId,
          ...(link ? { projectLink: link } : {}),
          ...(nemoUserId ? { nemoUserId } : {}),
        });
        queued = true;
        conv.log.info({ renderId }, 'render queued');
        await this.deps.usage.count('renders');
      } finally {
        // An export that queued nothing leaves the project free for the next one.
        if (!queued) await this.deps.exportSlot.release(record.sessionId, renderId).catch(() => undefined);
      }
    });
  }

  /**
   * The project's one export slot, before any other work: when another render holds it, the
   * person is told how far that one got instead. A holder whose render is over gives way, and so
   * does one already sending its video: rendering is done, and the person may want a new cut.
   */
  private async claimExport(conv: Conversation, sessionId: string, renderId: string): Promise<boolean> {
    const { exportSlot, renders } = this.deps;
    const claim = await exportSlot.claim(sessionId, renderId);
    if (claim.ok) return true;
    const { holder } = claim;
    const progress = holder.renderId === '' ? 'unknown' : await renders.progress(holder.renderId);
    const running = typeof progress === 'object' && progress.phase !== 'deliver';
    const starting = progress === 'unknown' && Date.now() - holder.claimedAt < EXPORT_START_GRACE_MS;
    if (!running && !starting && (await exportSlot.takeOver(sessionId, holder, renderId))) return true;
    const percent = typeof progress === 'object' && progress.phase === 'poll' ? progress.percent : undefined;
    const status = percent === undefined ? t(conv.lang, 'renderStatusStarting') : t(conv.lang, 'renderStatusPercent', { percent: Math.round(percent) });
    await conv.reply.send(t(conv.lang, 'renderRunning', { status }));
    return false;
  }

  /** A claim token lives 7 days: the link sent with a video must still open the project. */
  private async refreshClaim(conv: Conversation, record: SessionRecord): Promise<SessionRecord> {
    try {
      const claimToken = await this.deps.api.claimToken(conv.cred, record.taskId, record.sessionId);
      const updated = { ...record, claimToken, updatedAt: Date.now() };
      await this.deps.sessions.write(conv.key, updated);
      return updated;
    } catch (error) {
      conv.log.warn({ err: describeError(error) }, 'claim token refresh failed');
      return record;
    }
  }

  /** Files first, then the words that came with them (and any document's text) as a chat turn. */
  private async upload(conv: Conversation, attachments: Attachment[], text: string): Promise<void> {
    if (!(await this.linksWithinCap(conv, mediaLinksIn(text)))) return;
    const relay = await receiveUploads(this.uploadContext, conv, attachments, text);
    if (relay) await this.chat(conv, relay, { uploadLinks: false, counted: true });
  }

  /**
   * A chat turn, or a place in the session's queue when one is running. `counted`: the message
   * was counted against its sender's rate already; else ENTER counts it, or, when work comes
   * before ENTER (link uploads, a daily quota), a check of its own does first.
   */
  private async chat(conv: Conversation, text: string, options: { uploadLinks: boolean; counted: boolean }): Promise<void> {
    const mediaUrls = options.uploadLinks ? mediaLinksIn(text) : [];
    let counted = options.counted;
    if (!counted && (mediaUrls.length > 0 || (await this.quotaApplies(conv, 'turns')))) {
      if (!(await this.admitted(conv, false))) return;
      counted = true;
    }
    if (mediaUrls.length > 0) {
      if (!(await this.linksWithinCap(conv, mediaUrls))) return;
      if ((await this.takeQuota(conv, 'uploads', mediaUrls.length)) === 'refused') return;
      // A link to a media file becomes part of the project; the words still go to the agent.
      await this.withProject(conv, (record) => this.deps.api.uploadUrls(conv.cred, record.sessionId, mediaUrls));
    }
    const charged = await this.takeQuota(conv, 'turns');
    if (charged === 'refused') return;
    const turn: PendingTurn = { text, language: conv.lang, address: conv.reply.address, receivedAt: Date.now() };
    const rate = counted ? undefined : this.deps.flood.rateCheck(conv.key.platform, conv.key.userId);
    const entering = this.deps.gate.enter(conv.key, turn, { inboxId: conv.inboxId, rate });
    // Sent right behind ENTER on the same connection, so Redis runs it after: once the lock is
    // ours, no turn can write the record any more, and this read is the newest, one round trip saved.
    const prefetched = this.deps.sessions.read(conv.key);
    prefetched.catch(() => undefined);
    const entry = await entering;
    if (entry.acquired) conv.prefetched = prefetched;
    else if ('refused' in entry) {
      // Refused before it was queued: today's count must not keep it.
      if (charged === 'charged') await this.deps.quota.refund('turns', conv.key.platform, conv.key.userId);
      await this.tellRefused(conv, entry.refused);
      return;
    } else {
      await conv.reply.send(t(conv.lang, 'queued', { position: entry.position }));
      return;
    }
    await this.drain(conv, entry.lockToken, () => this.runTurn(conv, turn));
  }

  /** Runs `first`, then every turn that queued behind it, holding the session's lock. */
  private drain(owner: Conversation, lockToken: string, first: () => Promise<void>): Promise<void> {
    const { gate } = this.deps;
    const lock = gate.lock(owner.key, lockToken);
    const run = async () => {
      let released = false;
      const renewing = lock.keepRenewed({
        minEveryMs: 50,
        onError: (error) => owner.log.warn({ err: describeError(error) }, 'turn lock extend failed'),
      });
      try {
        await first();
        // While stopping, queued turns stay in Redis for the next process.
        let turn = this.stopping ? undefined : await gate.next(owner.key, lockToken);
        released = turn === undefined && !this.stopping;
        while (turn) {
          const conv = this.conversation(turn.address, turn.language);
          if (conv) await this.runTurn(conv, turn, turn.entry);
          const following = await gate.next(owner.key, lockToken, turn.entry);
          released = following === undefined;
          turn = this.stopping ? undefined : following;
        }
      } finally {
        renewing.stop();
        // `next` found nothing and let the lock go; on any other exit (a stop, an error) it goes
        // now, so the next process can recover this session without waiting for its TTL.
        if (!released) await lock.release().catch(() => undefined);
      }
    };
    const drained = run();
    this.drains.add(drained);
    return drained.finally(() => this.drains.delete(drained));
  }

  /** `queueEntry`: the turn waited in the session's queue, and leaves it when journaled. */
  private async runTurn(conv: Conversation, turn: PendingTurn, queueEntry?: string): Promise<void> {
    const controller = new AbortController();
    this.controllers.add(controller);
    try {
      await this.withProject(conv, async (record) => {
        const before = record.lastDraft ?? (await this.readDraft(conv, record.sessionId));
        // Journaled first: a restart in the middle is recovered from the state, not re-sent.
        await this.deps.journal.begin(
          {
            key: conv.key,
            address: conv.reply.address,
            language: conv.lang,
            sessionId: record.sessionId,
            draftBefore: before,
            startedAt: Date.now(),
          },
          { inboxId: conv.inboxId, queueEntry },
        );
        const started = Date.now();
        const result = await runChatTurn(this.turnDeps(conv), {
          cred: conv.cred,
          sessionId: record.sessionId,
          text: turn.text,
          reply: conv.reply,
          draftBefore: before,
          signal: controller.signal,
        });
        conv.log.info({ outcome: result.outcome }, 'turn finished');
        this.deps.metrics?.turns.inc({ outcome: result.outcome });
        this.deps.metrics?.turnDuration.observe({ outcome: result.outcome }, (Date.now() - started) / 1000);
        if (result.outcome === 'interrupted') return;
        // One round trip: the client sends the three back to back, Redis runs them in this order.
        await Promise.all([
          this.deps.journal.end(conv.key),
          this.deps.usage.count('turns', Date.now(), `${conv.key.platform}:${conv.key.userId}`),
          this.deps.sessions.write(conv.key, { ...record, lastDraft: result.draftAfter, updatedAt: Date.now() }),
        ]);
      });
    } catch (error) {
      conv.log.error({ err: describeError(error) }, 'turn failed');
      this.deps.metrics?.turns.inc({ outcome: 'error' });
      await this.deps.journal.end(conv.key).catch(() => undefined);
      await conv.reply.endProgress(t(conv.lang, 'turnStopped')).catch(() => undefined);
      await this.replyError(conv, error);
    } finally {
      this.controllers.delete(controller);
    }
  }

  private turnDeps(conv: Conversation) {
    const metrics = this.deps.metrics;
    return {
      api: this.deps.api,
      settings: this.deps.settings,
      sleep: this.sleep,
      logger: conv.log,
      ...(metrics ? { onStillWorking: () => metrics.keepAliveWaits.inc() } : {}),
    };
  }

  private async readDraft(conv: Conversation, sessionId: string): Promise<unknown> {
    try {
      return (await this.deps.api.state(conv.cred, sessionId)).draft;
    } catch (error) {
      conv.log.warn({ err: describeError(error) }, 'state read failed');
      return undefined;
    }
  }

  /**
   * Finds turns that a restart or a crash cut off and reports their outcome from the project
   * state, and runs turns left waiting behind a dead holder. Each runs under the session's
   * lock, so of several replicas only one picks it up, and never while a live turn holds the
   * session. Returns how many sessions it took up.
   */
  async recoverInterrupted(): Promise<number> {
    const recoveries: Promise<void>[] = [];
    for (const turn of await this.deps.journal.list()) {
      const lockToken = await this.deps.gate.tryLock(turn.key);
      if (!lockToken) continue;
      const conv = this.conversation(turn.address, turn.language);
      if (!conv) continue;
      recoveries.push(
        this.drain(conv, lockToken, async () => {
          try {
            await conv.reply.progress(t(conv.lang, 'resumed'));
            const result = await recoverFromState(this.turnDeps(conv), { cred: conv.cred, sessionId: turn.sessionId, reply: conv.reply }, turn.draftBefore);
            await this.deps.journal.end(turn.key);
            const record = await this.deps.sessions.read(turn.key);
            if (record?.sessionId === turn.sessionId) {
              await this.deps.sessions.write(turn.key, { ...record, lastDraft: result.draftAfter, updatedAt: Date.now() });
            }
            conv.log.info({ outcome: result.outcome }, 'interrupted turn recovered');
          } catch (error) {
            conv.log.error({ err: describeError(error) }, 'recovery of an interrupted turn failed');
            await this.replyError(conv, error);
          }
        }),
      );
    }
    // Turns queued behind a holder that died before journaling anything: run them now.
    for (const turn of await this.deps.gate.waiting()) {
      const key: SessionKey = { platform: turn.address.platform, chatId: turn.address.chatId, userId: turn.address.userId };
      const lockToken = await this.deps.gate.tryLock(key);
      if (!lockToken) continue;
      const conv = this.conversation(turn.address, turn.language);
      if (!conv) {
        await this.deps.gate.release(key, lockToken);
        continue;
      }
      recoveries.push(this.drain(conv, lockToken, async () => undefined));
    }
    await Promise.all(recoveries);
    return recoveries.length;
  }

  /**
   * Stops taking work: running turns get until `deadlineMs` to finish, then their streams are
   * closed and they stay journaled for the next process to recover.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    if (this.drains.size === 0) return;
    const deadline = new AbortController();
    const settled = Promise.allSettled([...this.drains]).then(() => true);
    const expired = delay(deadlineMs, false, { signal: deadline.signal }).catch(() => false);
    const finished = await Promise.race([settled, expired]);
    // The timer must not keep a stopped process alive.
    deadline.abort();
    if (finished) return;
    for (const controller of this.controllers) controller.abort();
    await Promise.allSettled([...this.drains]);
  }


  /** Daily limits apply only to people on the operator's shared token, and only those that are set. */
  private async quotaApplies(conv: Conversation, kind: QuotaKind): Promise<boolean> {
    return this.deps.quota.limited(kind) && (await conv.cred.isShared());
  }

  /** Counts `amount` against today's `kind`: `free` when no limit applies, `refused` (said so) when over it. */
  private async takeQuota(conv: Conversation, kind: QuotaKind, amount = 1): Promise<'free' | 'charged' | 'refused'> {
    if (!(await this.quotaApplies(conv, kind))) return 'free';
    const result = await this.deps.quota.take(kind, conv.key.platform, conv.key.userId, Date.now(), amount);
    if (result.ok) return 'charged';
    const minutesLeft = Math.ceil(result.resetsInMs / 60_000);
    const resetsIn = t(conv.lang, 'duration', { hours: Math.floor(minutesLeft / 60), minutes: minutesLeft % 60 });
    const { userDailyTurns, userDailyRenders, userDailyUploads } = this.deps.settings;
    const text = {
      turns: () => t(conv.lang, 'quotaTurns', { limit: userDailyTurns ?? 0, resetsIn }),
      renders: () => t(conv.lang, 'quotaRenders', { limit: userDailyRenders ?? 0, resetsIn }),
      uploads: () => t(conv.lang, 'quotaUploads', { limit: userDailyUploads ?? 0, resetsIn }),
    }[kind];
    await conv.reply.send(text());
    return 'refused';
  }

  private async errorText(conv: Conversation, error: unknown, fileName?: string): Promise<ReplyText> {
    // Reading the user's account needs the Redis that just failed: each read would wait its timeout.
    if (isRedisUnavailable(error)) return errorAnswer(error, conv.lang, { webUrl: this.deps.settings.webUrl, anonymous: false, fileName });
    let nemoUserId: string | undefined;
    try {
      nemoUserId = await conv.cred.nemoUserId();
    } catch {
      nemoUserId = undefined;
    }
    let anonymous = false;
    try {
      anonymous = await conv.cred.isAnonymous();
    } catch {
      anonymous = false;
    }
    return errorAnswer(error, conv.lang, { webUrl: this.deps.settings.webUrl, anonymous, nemoUserId, fileName });
  }

  private async replyError(conv: Conversation, error: unknown): Promise<void> {
    try {
      await conv.reply.answer(await this.errorText(conv, error));
    } catch (sendError) {
      conv.log.error({ err: describeError(sendError) }, 'could not tell the user about a failure');
    }
  }
}

/** A UUID-shaped id derived from `seed`, so the same message always names the same render. */
function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
