import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { emptyDraft } from './drafts.js';
import type {
  CreditsState,
  DraftUpdate,
  FakeNemoOptions,
  FakeRoute,
  FakeSession,
  Failure,
  RecordedRequest,
  RenderRecord,
  RenderScript,
  ServedFault,
  SseCall,
  TurnScript,
  UploadRecord,
} from './types.js';

const TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
const START_CREDITS = 100;
// Above 2^53, so a client that parses session ids as numbers corrupts them and is caught.
const SESSION_BASE = 5_529_798_706_024_415_232n;

export interface Caller {
  token: string;
  userId: string;
}

interface TokenRecord {
  userId: string;
  expiresAt: number;
  expired: boolean;
}

/** Everything the fake remembers; route handlers read and write it, tests inspect it. */
export class FakeState {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly served: ServedFault[] = [];
  readonly issuedTokens: string[] = [];
  readonly tokensByClientId = new Map<string, string[]>();
  readonly sessions = new Map<string, FakeSession>();
  readonly claimTokens: string[] = [];
  readonly sseCalls: SseCall[] = [];
  /** Sessions whose `/run_sse` stream the client closed before the server ended it. */
  readonly clientAborts: string[] = [];
  readonly uploads: UploadRecord[] = [];
  /** The first 256 KiB of each uploaded file, by its sha256. */
  readonly uploadHeads = new Map<string, Buffer>();
  readonly renders = new Map<string, RenderRecord>();
  readonly renderPolls = new Map<string, number>();
  readonly turnScripts: TurnScript[] = [];
  readonly renderQueue: RenderScript[] = [];
  readonly openStreams = new Map<string, number>();
  readonly turnEvents = new EventEmitter();
  /** Aborted by close(): ends stalls and waits of running turns. */
  readonly shutdown = new AbortController();
  renderScript: RenderScript;
  endedTurns = 0;
  readonly maxUploadBytes: number;
  readonly keepAliveMs: number;

  private readonly tokens = new Map<string, TokenRecord>();
  private readonly userByClientId = new Map<string, string>();
  private readonly credits = new Map<string, CreditsState>();
  private readonly failures = new Map<FakeRoute, Failure[]>();
  private users = 0;
  private tasks = 0;

  constructor(readonly baseUrl: string, options: FakeNemoOptions) {
    this.renderScript = { ...options.renderScript };
    this.maxUploadBytes = options.maxUploadBytes ?? 50 * 1024 * 1024;
    this.keepAliveMs = options.keepAliveMs ?? 50;
    for (const [index, token] of (options.operatorTokens ?? []).entries()) {
      this.tokens.set(token, { userId: `user_op${index + 1}`, expiresAt: Number.POSITIVE_INFINITY, expired: false });
    }
  }

  violation(message: string): void {
    this.violations.push(message);
  }

  issueToken(clientId: string): { token: string; userId: string; expiresAt: string } {
    let userId = this.userByClientId.get(clientId);
    if (userId === undefined) {
      // One client id is one anonymous user, so a renewed token still owns its sessions.
      userId = `anon_${++this.users}`;
      this.userByClientId.set(clientId, userId);
    }
    const token = `nmv_usr_${randomBytes(18).toString('base64url')}`;
    const expiresAt = Date.now() + TOKEN_LIFETIME_MS;
    this.tokens.set(token, { userId, expiresAt, expired: false });
    this.issuedTokens.push(token);
    this.tokensByClientId.set(clientId, [...(this.tokensByClientId.get(clientId) ?? []), token]);
    return { token, userId, expiresAt: new Date(expiresAt).toISOString() };
  }

  caller(token: string): Caller | undefined {
    const record = this.tokens.get(token);
    if (record === undefined || record.expired || record.expiresAt <= Date.now()) return undefined;
    return { token, userId: record.userId };
  }

  /** True when `token` was issued and then expired with `expireToken`: its refusal is a served fault. */
  isExpired(token: string): boolean {
    return this.tokens.get(token)?.expired === true;
  }

  serve(route: FakeRoute, label: string): void {
    this.served.push({ route, label, at: Date.now() });
  }

  expireToken(token: string): void {
    const record = this.tokens.get(token);
    if (record === undefined) throw new Error('expireToken: the fake never issued this token');
    record.expired = true;
  }

  creditsOfUser(userId: string): CreditsState {
    let credits = this.credits.get(userId);
    if (credits === undefined) {
      credits = { available: START_CREDITS, frozen: 0, total: START_CREDITS };
      this.credits.set(userId, credits);
    }
    return credits;
  }

  userOfToken(token: string): string {
    const record = this.tokens.get(token);
    if (record === undefined) throw new Error('the fake does not know this token');
    return record.userId;
  }

  setCredits(token: string, credits: CreditsState): void {
    this.credits.set(this.userOfToken(token), { ...credits });
  }

  createSession(userId: string, language: string): FakeSession {
    this.tasks += 1;
    const session: FakeSession = {
      taskId: `task_${this.tasks}`,
      sessionId: String(SESSION_BASE + BigInt(this.tasks) * 7_919n),
      userId,
      language,
      draft: emptyDraft(),
    };
    this.sessions.set(session.sessionId, session);
    return session;
  }

  /** A session exists for a caller only if it is theirs: another user's id is "not found". */
  sessionFor(sessionId: string, caller: Caller): FakeSession | undefined {
    const session = this.sessions.get(sessionId);
    return session?.userId === caller.userId ? session : undefined;
  }

  session(sessionId: string): FakeSession {
    const session = this.sessions.get(sessionId);
    if (session === undefined) throw new Error(`the fake has no session ${sessionId}`);
    return session;
  }

  applyDraft(session: FakeSession, update: DraftUpdate): void {
    session.draft = typeof update === 'function' ? (update as (before: unknown) => unknown)(structuredClone(session.draft)) : structuredClone(update);
  }

  /**
   * Scripted faults that can still meet a turn: `run_sse` failures, and turn scripts for any
   * session or for one of `sessionIds` (a script for a session since replaced never plays).
   */
  pendingTurnFaults(sessionIds: readonly string[]): number {
    const live = new Set(sessionIds);
    const scripts = this.turnScripts.filter((script) => script.sessionId === undefined || live.has(script.sessionId)).length;
    return scripts + (this.failures.get('run_sse')?.length ?? 0);
  }

  failNext(route: FakeRoute, failure: Failure, times: number): void {
    const queue = this.failures.get(route) ?? [];
    for (let i = 0; i < times; i += 1) queue.push(failure);
    this.failures.set(route, queue);
  }

  takeFailure(route: FakeRoute): Failure | undefined {
    return this.failures.get(route)?.shift();
  }

  takeTurnScript(sessionId: string): TurnScript | undefined {
    const index = this.turnScripts.findIndex((script) => script.sessionId === undefined || script.sessionId === sessionId);
    return index < 0 ? undefined : this.turnScripts.splice(index, 1)[0];
  }

  turnEnded(): void {
    this.endedTurns += 1;
    this.turnEvents.emit('ended', this.endedTurns);
  }
}
