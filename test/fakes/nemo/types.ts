import type { IncomingHttpHeaders } from 'node:http';

/** Routes a test can make fail with `failNext`. */
export type FakeRoute =
  | 'anonymous-token'
  | 'session'
  | 'claim'
  | 'run_sse'
  | 'upload'
  | 'credits'
  | 'state'
  | 'render-submit'
  | 'render-poll'
  | 'render-download'
  | 'render-cancel'
  | 'cdn';

/**
 * A scripted error answer: envelope `{code: code ?? status, message}` (or `body`) with HTTP
 * `status ?? 200`, so a test picks any of the three error styles of docs/nemo-api.md (Answers and errors).
 */
export interface Failure {
  status?: number;
  code?: number;
  message?: string;
  /** Sets `Retry-After`; a 429 without it is legal too. */
  retryAfterSeconds?: number;
  /** Names the fault in `served` once the fake has answered with it. */
  label?: string;
  /** This JSON body instead of the envelope, e.g. ADK's `{"error":"Session not found: …"}` with no code. */
  body?: unknown;
}

/** A new draft, or a function `(before) => after` of the draft before. */
export type DraftUpdate = unknown;

export type KeepAliveStyle = 'comment' | 'empty' | 'heartbeat-json' | 'heartbeat-event';

export type Frame =
  | { kind: 'event'; event: object }
  | { kind: 'keepalive'; style: KeepAliveStyle }
  /** Written as-is, e.g. `'data: {not json\n\n'`. */
  | { kind: 'raw'; text: string }
  | { kind: 'delay'; ms: number }
  /** `{"error":…}`; with `details` the 2.x `error_details` too. */
  | { kind: 'error'; message: string; details?: boolean }
  /** Applies `draft` if given, else the script's `draftAfter` (which then is not applied again). */
  | { kind: 'apply-draft'; draft?: DraftUpdate }
  /** Holds the stream open until the test resolves `until`. */
  | { kind: 'wait'; until: Promise<void> };

export interface TurnScript {
  frames: Frame[];
  /** Applied when the frames are done, unless an `apply-draft` frame without its own draft ran. */
  draftAfter?: DraftUpdate;
  /** `close` (default): clean end. `destroy`: socket cut mid-stream. `stall`: keep-alives until the client leaves. */
  end?: 'close' | 'destroy' | 'stall';
  keepAliveMs?: number;
  /** Plays only on this session's next turn; any session's when absent. */
  sessionId?: string;
  /** Marks the script as a fault: it shows in `served`, under this name, once a turn plays it. */
  label?: string;
}

export interface RenderScript {
  /** The poll that answers `completed` (default 2). */
  pollsUntilComplete?: number;
  /** Poll answer shape, as docs/nemo-api.md lists them (default 1). */
  shape?: 1 | 2 | 3;
  /** The render ends `failed` with this `error` instead of completing. */
  fail?: string;
  /** Serve this many deterministic bytes instead of the fixture, streamed, never held whole. */
  outputSize?: number;
  /** The MP4 bytes served for the output (default: the fixture). */
  outputBytes?: Buffer;
  /** The render stays `processing` at this percent from its first poll on, never completing (an operator's view of a render in flight). */
  holdAtPercent?: number;
  /** An MP4 on disk served as the output, streamed (a test render made with ffmpeg). */
  outputFile?: string;
  /** Submit answer: `{success,data}` (default) or the code envelope. */
  submitShape?: 'success' | 'envelope';
}

export type RenderStatusName = 'pending' | 'processing' | 'completed' | 'failed';

export interface RenderRecord {
  id: string;
  sessionId: string;
  userId: string;
  polls: number;
  /** As of the last poll (`pending` until the first). */
  status: RenderStatusName;
  cancelled: boolean;
  script: RenderScript;
  draft: unknown;
  createdAt: string;
  completedAt?: string;
}

export interface CreditsState {
  available: number;
  frozen: number;
  total: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** `Date.now()` when the request arrived. */
  at: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON bodies only. */
  body?: unknown;
}

/**
 * A fault the fake really answered with: a scripted failure taken by a request, a refusal of a
 * token expired with `expireToken`, or a labelled turn script played by a turn. A fault that was
 * scripted but never met a request is not here.
 */
export interface ServedFault {
  route: FakeRoute;
  /** The failure's or script's `label`; unlabelled failures: `HTTP <status> code <code>`; `expired token`. */
  label: string;
  /** `Date.now()` when it was served. */
  at: number;
}

export interface SseCall {
  sessionId: string;
  text: string;
  token: string;
}

export interface UploadRecord {
  sessionId: string;
  filename: string;
  size: number;
  /** Hex sha256 of the bytes received; of the URL text for `kind: 'url'`. */
  sha256: string;
  kind: 'file' | 'url';
  url?: string;
}

export interface FakeSession {
  taskId: string;
  sessionId: string;
  userId: string;
  language: string;
  draft: unknown;
  /** `state.generated_media`: clips the agent made, in a shape tests choose (the real one is undocumented). */
  generatedMedia?: unknown[];
}

export interface FakeNemoOptions {
  /** Reserved: a rate limiter is not modelled; use `failNext(route, { status: 429 })`. */
  rateLimit?: never;
  /** Bearer tokens accepted without issue (like `NEMO_TOKEN`), each its own user. */
  operatorTokens?: string[];
  /** Per-file upload limit (default 50 MB). */
  maxUploadBytes?: number;
  /** Keep-alive period of `end: 'stall'` scripts (default 50 ms). */
  keepAliveMs?: number;
  /** Default for every render (per render: `scriptRender`). */
  renderScript?: RenderScript;
}

export interface FakeNemo {
  readonly url: string;
  close(): Promise<void>;
  readonly requests: RecordedRequest[];
  /** Contract mismatches seen; tests assert it stays empty. */
  readonly violations: string[];
  /** Faults in the order the fake served them (see `ServedFault`). */
  readonly served: ServedFault[];
  readonly issuedTokens: string[];
  readonly tokensByClientId: Map<string, string[]>;
  readonly sessions: Map<string, FakeSession>;
  readonly claimTokens: string[];
  readonly sseCalls: SseCall[];
  /** Session ids of `/run_sse` streams the client closed before the server ended them (the agent's work may be cancelled). */
  readonly clientAborts: string[];
  readonly uploads: UploadRecord[];
  /** The first 256 KiB of an uploaded file (by its record's `sha256`), for checking what the bytes are. */
  uploadHead(sha256: string): Buffer | undefined;
  readonly renders: Map<string, RenderRecord>;
  readonly renderPolls: Map<string, number>;
  /** Default for renders submitted from now on. */
  renderScript: RenderScript;
  failNext(route: FakeRoute, failure: Failure, times?: number): void;
  /** Scripted `run_sse` failures and turn scripts (any session, or one of `sessionIds`) no turn has met yet. */
  pendingTurnFaults(sessionIds: readonly string[]): number;
  /** Later uses of the token answer 1001. */
  expireToken(token: string): void;
  setCredits(token: string, credits: CreditsState): void;
  creditsOf(token: string): CreditsState;
  draftOf(sessionId: string): unknown;
  setDraft(sessionId: string, draft: unknown): void;
  /** What `state.generated_media` lists for a session from now on. */
  setGeneratedMedia(sessionId: string, media: unknown[]): void;
  /** Queued: the next matching `/run_sse` plays it instead of the default agent. */
  scriptTurn(script: TurnScript): void;
  /** The next render submit uses this script instead of `renderScript`. */
  scriptRender(script: RenderScript): void;
  /** Hex sha256 of what the CDN serves for a render, for download assertions. */
  outputSha256(renderId: string): string;
  /** Resolves once this many `/run_sse` turns have finished on the server side (draft applied). */
  turnsEnded(count: number): Promise<void>;
}
