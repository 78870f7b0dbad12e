import type { Logger } from 'pino';
import type { AnonymousToken, Credits, NemoCredentials, NemoSession, SessionState, UploadedFile, UploadSource } from '../nemo/types.js';
import type { AccessPolicy } from './access-policy.js';
import type { DailyQuota } from './daily-quota.js';
import type { DocumentParser } from './documents.js';
import type { ExportSlot } from './export-slot.js';
import type { FloodControl } from './flood-control.js';
import type { MessageProjects } from './message-projects.js';
import type { SessionKey, SessionStore } from './session-store.js';
import type { TokenCipher } from './token-cipher.js';
import type { TurnGate } from './turn-gate.js';
import type { TurnJournal } from './turn-journal.js';
import type { TurnApi, TurnSettings } from './turn-runner.js';
import type { ChatAddress, Language, Outbox, Platform } from './types.js';
import type { UsageStats } from './usage-stats.js';

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
  /** The project's reference and the export's version number ("v3" in the caption). */
  projectRef?: string;
  version?: number;
  draft: unknown;
  correlationId: string;
}

/** A render in flight as the queue reports it: the phase, and the last poll's percent. */
export interface RenderProgress {
  phase: 'submit' | 'poll' | 'deliver';
  percent?: number;
}

/** The render queue as the engine uses it. */
export interface RenderQueueHandle {
  enqueue(request: RenderRequest): Promise<void>;
  inFlight(): Promise<number>;
  /** A render's progress; `over` once delivered or failed for good, `unknown` when there is no such job. */
  progress(renderId: string): Promise<RenderProgress | 'over' | 'unknown'>;
}

export interface EngineSettings extends TurnSettings {
  webUrl: string;
  /** A turn's progress message waits this long for the answer (PROGRESS_DELAY_MS): a quick answer is one post. */
  progressDelayMs: number;
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

export interface TurnMetrics {
  turns: { inc(labels: { outcome: string }): void };
  turnDuration: { observe(labels: { outcome: string }, seconds: number): void };
  keepAliveWaits: { inc(): void };
}

export interface EngineDeps {
  api: EngineApi;
  sessions: SessionStore;
  /** Which project each posted message belongs to (reply to continue). */
  messages: MessageProjects;
  gate: TurnGate;
  journal: TurnJournal;
  renders: RenderQueueHandle;
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
