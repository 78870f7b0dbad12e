import { describeError } from '../lib/describe-error.js';
import { NemoApiError, NemoCode } from '../nemo/errors.js';
import type { Conversation } from './conversation.js';
import type { EngineApi, RenderQueueHandle } from './engine-deps.js';
import type { ExportSlot } from './export-slot.js';
import { t } from './i18n.js';
import { projectRefOf, sessionKeyId, type ProjectInfo, type SessionRecord, type SessionStore } from './session-store.js';
import type { TurnGate } from './turn-gate.js';

// Creating a project takes a second or two; another process waits this long for it at most.
const FIRST_CONTACT_LEASE_MS = 15_000;
const FIRST_CONTACT_POLL_MS = 100;
// An export slot whose render is not queued yet is taken to be starting (state read, claim link)
// this long; after it, its export is taken to have died, and another export takes the slot.
const EXPORT_START_GRACE_MS = 5 * 60_000;

export interface ProjectServiceDeps {
  api: Pick<EngineApi, 'createSession' | 'claimToken'>;
  sessions: SessionStore;
  gate: Pick<TurnGate, 'clear'>;
  exportSlot: Pick<ExportSlot, 'claim' | 'takeOver' | 'release'>;
  renders: Pick<RenderQueueHandle, 'enqueue' | 'progress'>;
  webUrl: string;
  sleep: (ms: number) => Promise<void>;
}

/**
 * One NemoVideo project per person and chat: created once on first contact (across processes),
 * replaced when the service forgot it or the person asks for a new one, and its exports: one
 * render in flight per project, queued for the render worker.
 */
export class ProjectService {
  private readonly firstContacts = new Map<string, Promise<SessionRecord>>();

  constructor(private readonly deps: ProjectServiceDeps) {}

  /**
   * The person's project, created on first contact without a post of its own: the answer to what
   * they asked comes first, with a one-line welcome under it.
   */
  async project(conv: Conversation): Promise<SessionRecord> {
    const prefetched = conv.prefetched;
    conv.prefetched = undefined;
    const existing = await (prefetched ?? this.deps.sessions.read(conv.key));
    if (existing) {
      conv.projectRef = projectRefOf(existing);
      return existing;
    }
    // Messages that arrive together on first contact (`/start` and a prompt) share one project.
    const id = sessionKeyId(conv.key);
    let creating = this.firstContacts.get(id);
    if (!creating) {
      creating = this.firstContact(conv).finally(() => this.firstContacts.delete(id));
      this.firstContacts.set(id, creating);
    }
    const record = await creating;
    conv.projectRef = projectRefOf(record);
    return record;
  }

  /** Runs `work` on the project; when the service forgot the session (1002), starts a fresh one once. */
  async withProject<T>(conv: Conversation, work: (record: SessionRecord) => Promise<T>): Promise<T> {
    const record = await this.project(conv);
    try {
      return await work(record);
    } catch (error) {
      if (!(error instanceof NemoApiError) || error.nemoCode !== NemoCode.SessionNotFound) throw error;
      conv.log.warn({}, 'session not found: starting a fresh project');
      await this.deps.sessions.forget(conv.key, record);
      const fresh = await this.create(conv);
      await conv.reply.send(t(conv.lang, 'sessionReplaced'));
      return work(fresh);
    }
  }

  /** Leaves the person's project (it stays listed) and its waiting turns, and creates a fresh one. */
  async replace(conv: Conversation): Promise<SessionRecord> {
    await this.deps.gate.clear(conv.key);
    await this.deps.sessions.leave(conv.key);
    return this.create(conv);
  }

  /**
   * Makes the listed project `ref` the person's current one (a reply to one of its messages, a
   * project button, `/switch`). Undefined when it is gone (expired, or the service forgot it).
   */
  async switchTo(conv: Conversation, ref: string): Promise<(ProjectInfo & { switched: boolean }) | undefined> {
    const [current, listed] = await Promise.all([this.deps.sessions.read(conv.key), this.deps.sessions.readProject(conv.key, ref)]);
    if (current && projectRefOf(current) === ref) {
      conv.projectRef = ref;
      return { ...(listed ?? { exports: 0 }), record: current, switched: false };
    }
    if (!listed) return undefined;
    const record = { ...listed.record, updatedAt: Date.now() };
    await this.deps.sessions.makeCurrent(conv.key, record);
    conv.projectRef = ref;
    conv.log.info({ taskId: record.taskId }, 'switched project');
    return { ...listed, record, switched: true };
  }

  /** The browser link that opens the project, while its claim token is known. */
  link(record: SessionRecord): string | undefined {
    return record.claimToken ? `${this.deps.webUrl}/workspace/claim?ct=${encodeURIComponent(record.claimToken)}` : undefined;
  }

  /**
   * The project's one export slot, before any other work: when another render holds it, the
   * person is told how far that one got instead. A holder whose render is over gives way, and so
   * does one already sending its video: rendering is done, and the person may want a new cut.
   */
  async claimExport(conv: Conversation, sessionId: string, renderId: string): Promise<boolean> {
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

  /** An export that queued nothing leaves the project free for the next one. */
  async releaseExport(sessionId: string, renderId: string): Promise<void> {
    await this.deps.exportSlot.release(sessionId, renderId).catch(() => undefined);
  }

  /** Queues the render of `draft` (its slot claimed) with a fresh project link, and says so. */
  async queueRender(conv: Conversation, record: SessionRecord, renderId: string, draft: unknown, version?: number): Promise<void> {
    const fresh = await this.refreshClaim(conv, record);
    const progressMessageId = await conv.reply.send(t(conv.lang, 'renderQueued'));
    // Only an anonymous person's id travels: the worker reads its presence as "anonymous", as `errorAnswer` does.
    const nemoUserId = (await conv.cred.isAnonymous()) ? ((await conv.cred.nemoUserId()) ?? record.nemoUserId) : undefined;
    const link = this.link(fresh);
    await this.deps.renders.enqueue({
      renderId,
      sessionKey: conv.key,
      sessionId: record.sessionId,
      address: { ...conv.reply.address, progressMessageId },
      language: conv.lang,
      draft,
      correlationId: renderId,
      projectRef: projectRefOf(record),
      ...(version === undefined ? {} : { version }),
      ...(link ? { projectLink: link } : {}),
      ...(nemoUserId ? { nemoUserId } : {}),
    });
  }

  private async firstContact(conv: Conversation): Promise<SessionRecord> {
    const id = sessionKeyId(conv.key);
    // Across processes too: the first takes a short lease, the others wait for its record.
    const claim = this.deps.sessions.creationClaim(id, FIRST_CONTACT_LEASE_MS);
    const owner = (await claim.take()).taken;
    if (!owner) {
      const deadline = Date.now() + FIRST_CONTACT_LEASE_MS;
      while (Date.now() < deadline) {
        await this.deps.sleep(FIRST_CONTACT_POLL_MS);
        const record = await this.deps.sessions.read(conv.key);
        if (record) return record;
      }
    }
    try {
      const again = await this.deps.sessions.read(conv.key);
      if (again) return again;
      const record = await this.create(conv);
      conv.reply.welcomeNext(t(conv.lang, 'welcomeLine'));
      return record;
    } finally {
      // A failed creation must not make the person's next message wait out the lease.
      if (owner) await claim.release().catch(() => undefined);
    }
  }

  private async create(conv: Conversation): Promise<SessionRecord> {
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
    // Room for it among the person's listed projects (the least recently active go).
    await this.deps.sessions.pruneProjects(conv.key);
    await this.deps.sessions.makeCurrent(conv.key, record);
    conv.projectRef = projectRefOf(record);
    conv.log.info({ taskId: session.taskId }, 'project created');
    return record;
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
}
