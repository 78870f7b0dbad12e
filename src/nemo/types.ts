import type { Readable } from 'node:stream';

/** Who a NemoVideo call is made for: the bearer token and the platform the user is on. */
export interface NemoCredentials {
  /** `X-Skill-Platform`: discord, telegram, console… */
  readonly platform: string;
  /** The bearer token to use now. */
  token(): Promise<string>;
  /**
   * Called at most once per request on code 1001: fetches a fresh anonymous token with the
   * same client id, stores it, and returns it. Absent when the token cannot be renewed
   * (operator `NEMO_TOKEN` or a user's personal token).
   */
  renew?: () => Promise<string>;
}

export interface AnonymousToken {
  token: string;
  /** `anon_…`: the `<id>` of the registration link `?bind=<id>`. */
  userId: string;
  expiresAt: string;
  credits?: number;
}

export interface NemoSession {
  taskId: string;
  /** A long numeric string: never a number. */
  sessionId: string;
  userId: string;
}

export interface Credits {
  available: number;
  frozen: number;
  total: number;
}

export interface UploadedFile {
  filename: string;
  fileType?: string;
  cdnUrl?: string;
  duration?: number;
  width?: number;
  height?: number;
}

/** A file the client streams to NemoVideo: never held whole in memory. */
export interface UploadSource {
  name: string;
  mimeType: string;
  size: number;
  open(): Readable | Promise<Readable>;
}

export interface SessionState {
  /** The raw draft (`{d, t:[…]}`), parsed tolerantly by `draft.ts`. */
  draft: unknown;
  videoInfos?: unknown;
  canvasConfig?: unknown;
  generatedMedia?: unknown;
}

export type RenderState = 'pending' | 'processing' | 'completed' | 'failed';

export interface RenderStatus {
  id: string;
  status: RenderState;
  /** 0–100 when the service says. */
  progress?: number;
  /** `output.url` / `outputUrl`: the only render link ever shown to a user. */
  url?: string;
  error?: string;
  sizeBytes?: number;
}

/** What a chat turn's SSE stream yields, after parsing and de-duplication. */
export type TurnEvent =
  | { type: 'keepalive' }
  /**
   * Live preview of a streaming server: `text` is the new piece only (append it to a
   * preview buffer). The next `text` event repeats the whole text: drop the buffer then.
   */
  | { type: 'partial'; text: string }
  /** Text of a non-partial model event, not a thought, in order. */
  | { type: 'text'; text: string; author: string }
  | { type: 'tool_call'; id?: string; name: string; args: unknown }
  | { type: 'tool_result'; id?: string; name: string; response: unknown }
  /** An ADK event with `errorCode` (e.g. SAFETY), sent with HTTP 200. */
  | { type: 'model_error'; code: string; message?: string }
  /** An error frame (`{"error":…}` or unparsable): the last frame of the stream. */
  | { type: 'server_error'; message: string };

export interface RunTurnOptions {
  signal?: AbortSignal;
}
