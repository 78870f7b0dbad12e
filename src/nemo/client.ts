import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent } from 'undici';
import { describeError } from '../lib/describe-error.js';
import { checkAnswer, envelopeData, type RawAnswer } from './answer.js';
import { classify, NemoApiError, NemoNetworkError, NemoStreamError, RUN_SSE_ENDPOINT } from './errors.js';
import { checkUpload } from './formats.js';
import {
  discard,
  failedBeforeSending,
  headerValue,
  isTimeout,
  readAnswer,
  send,
  type Response,
} from './http.js';
import { multipartBody } from './multipart.js';
import { renderStatusFromAnswer } from './render-answer.js';
import {
  anonymousTokenDataSchema,
  claimTokenDataSchema,
  creditsDataSchema,
  sessionDataSchema,
  stateDataSchema,
  uploadDataSchema,
} from './schemas.js';
import { readTurnStream } from './turn-stream.js';
import type {
  AnonymousToken,
  Credits,
  NemoCredentials,
  NemoSession,
  RenderStatus,
  RunTurnOptions,
  SessionState,
  TurnEvent,
  UploadedFile,
  UploadSource,
} from './types.js';

export interface NemoLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface NemoClientOptions {
  /** NEMO_API_URL. */
  baseUrl: string;
  /** X-Skill-Source, e.g. 'nemo-video-bot'. */
  source: string;
  /** X-Skill-Version: the package version. */
  version: string;
  /** RATE_LIMIT_RETRY_MS: wait after a 429, then retry once. */
  rateLimitRetryMs: number;
  /** TURN_IDLE_TIMEOUT_MS: only keep-alives this long → NemoStreamError('nemo_turn_idle_timeout'). */
  turnIdleTimeoutMs: number;
  /** Ordinary JSON calls; default 30 000. */
  requestTimeoutMs?: number;
  /** Time for the service to answer a file upload once sending began; default 10 minutes. */
  uploadTimeoutMs?: number;
  logger?: NemoLogger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Sees every refusal and network failure, retried or not: the error-rate metric. */
  onError?: (error: NemoApiError | NemoNetworkError) => void;
  /**
   * Told when a request (not a streamed upload) has had no answer for `slowAnswerMs` (default
   * 5 s): the terminal chat says what it is waiting for instead of staying silent.
   */
  onSlowAnswer?: (endpoint: string) => void;
  slowAnswerMs?: number;
}

/** A Retry-After longer than this is not waited out inside a call: the error carries it to the caller. */
const MAX_INLINE_RETRY_AFTER_MS = 5 * 60_000;
const MAX_REDIRECTS = 5;
const SILENT_LOGGER: NemoLogger = { debug: () => undefined, warn: () => undefined };

interface Call {
  method: 'GET' | 'POST';
  /** The real path, ids encoded. */
  path: string;
  /** The path template: the only form that reaches errors and logs. */
  endpoint: string;
  /** Absent only for the anonymous-token call, which has no bearer. */
  cred?: NemoCredentials;
  platform: string;
  headers?: Record<string, string>;
  /** Built again for each attempt: a streamed upload must be reopened for a retry. */
  body?: () => string | Readable | Promise<string | Readable>;
  /** GETs: safe to send again after a 5xx or a lost answer. */
  idempotent: boolean;
  headersTimeout?: number;
  bodyTimeout?: number;
  signal?: AbortSignal | undefined;
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

function isEventStream(response: Response): boolean {
  if (response.statusCode < 200 || response.statusCode > 299) return false;
  const type = headerValue(response, 'content-type')?.toLowerCase();
  // A missing Content-Type is read as events (some gateways drop it); any other type is an envelope.
  return type === undefined || type.includes('text/event-stream');
}

/** The only code that speaks to NemoVideo. One undici Agent; tokens only ever in the Authorization header. */
export class NemoClient {
  readonly #options: Required<Omit<NemoClientOptions, 'logger' | 'sleep' | 'onError' | 'onSlowAnswer'>>;
  readonly #onSlowAnswer: ((endpoint: string) => void) | undefined;
  readonly #logger: NemoLogger;
  readonly #onError: (error: NemoApiError | NemoNetworkError) => void;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #agent: Agent;
  readonly #base: string;

  constructor(options: NemoClientOptions) {
    this.#options = {
      baseUrl: options.baseUrl,
      source: options.source,
      version: options.version,
      rateLimitRetryMs: options.rateLimitRetryMs,
      turnIdleTimeoutMs: options.turnIdleTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      uploadTimeoutMs: options.uploadTimeoutMs ?? 10 * 60_000,
      slowAnswerMs: options.slowAnswerMs ?? 5_000,
    };
    this.#onSlowAnswer = options.onSlowAnswer;
    this.#logger = options.logger ?? SILENT_LOGGER;
    this.#onError = options.onError ?? (() => undefined);
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {}));
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#agent = new Agent({
      headersTimeout: this.#options.requestTimeoutMs,
      bodyTimeout: this.#options.requestTimeoutMs,
    });
  }

  async anonymousToken(clientId: string, platform: string): Promise<AnonymousToken> {
    const endpoint = '/api/auth/anonymous-token';
    const data = await this.#json(
      { method: 'POST', path: endpoint, endpoint, platform, headers: { 'x-client-id': clientId }, idempotent: false },
      (answer) => envelopeData(answer, endpoint, anonymousTokenDataSchema),
    );
    const token: AnonymousToken = { token: data.token, userId: data.user_id, expiresAt: data.expires_at };
    if (data.credits !== undefined) token.credits = data.credits;
    return token;
  }

  async createSession(cred: NemoCredentials, language: string): Promise<NemoSession> {
    const endpoint = '/api/tasks/me/with-session/nemo_agent';
    const data = await this.#json(
      { ...this.#post(cred, endpoint, endpoint), body: () => JSON.stringify({ task_name: 'project', language }) },
      (answer) => envelopeData(answer, endpoint, sessionDataSchema),
    );
    return { taskId: data.task_id, sessionId: data.session_id, userId: data.user_id };
  }

  async claimToken(cred: NemoCredentials, taskId: string, sessionId: string): Promise<string> {
    const endpoint = '/api/auth/claim-token';
    const data = await this.#json(
      { ...this.#post(cred, endpoint, endpoint), body: () => JSON.stringify({ task_id: taskId, session_id: sessionId }) },
      (answer) => envelopeData(answer, endpoint, claimTokenDataSchema),
    );
    return data.claim_token;
  }

  /**
   * Sends one chat message and yields the turn's events until the server closes the stream.
   * The message is never sent twice: once it may have been accepted, any failure is a
   * `NemoStreamError` (read the state to recover). Refusals before the stream (1001, 429)
   * are retried once, since the message was not accepted.
   */
  async *runTurn(cred: NemoCredentials, sessionId: string, text: string, options: RunTurnOptions = {}): AsyncGenerator<TurnEvent, void, undefined> {
    const endpoint = RUN_SSE_ENDPOINT;
    const newMessage = { role: 'user', parts: [{ text }] };
    // Both spellings: the seed documents snake_case, the JS ADK server reads only camelCase
    // (and fails with "Session not found: undefined" without it), Python ADK reads either.
    // `streaming: false` asks for whole events, as NemoVideo's documented body does by default.
    const payload = JSON.stringify({
      app_name: 'nemo_agent',
      user_id: 'me',
      session_id: sessionId,
      new_message: newMessage,
      appName: 'nemo_agent',
      userId: 'me',
      sessionId,
      newMessage,
      streaming: false,
    });
    const callerSignal = options.signal;
    const connection = new AbortController();
    const onCallerAbort = (): void => connection.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      callerSignal?.throwIfAborted();
      const call: Call = {
        ...this.#post(cred, endpoint, endpoint),
        headers: { accept: 'text/event-stream' },
        body: () => payload,
        // Headers may come late behind a busy gateway; the body gap is watched by the idle timer.
        headersTimeout: this.#options.turnIdleTimeoutMs,
        bodyTimeout: this.#options.turnIdleTimeoutMs,
        signal: callerSignal,
      };
      const response = await this.#withRetries(call, async (token) => {
        const answer = await this.#sendTurn(call, token, connection.signal);
        if (isEventStream(answer)) return answer;
        const refusal = await readAnswer(answer, endpoint, callerSignal);
        checkAnswer(refusal, endpoint);
        throw new NemoApiError({ status: refusal.status, endpoint, serviceMessage: 'expected an event stream' });
      });
      this.#logger.debug({ endpoint, status: response.statusCode }, 'nemo turn stream opened');
      yield* readTurnStream(response.body, {
        idleTimeoutMs: this.#options.turnIdleTimeoutMs,
        signal: callerSignal,
        abort: (reason) => connection.abort(reason),
      });
    } finally {
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async uploadFile(cred: NemoCredentials, sessionId: string, file: UploadSource): Promise<UploadedFile[]> {
    const refusal = checkUpload(file.name, file.mimeType, file.size);
    if (refusal) throw refusal;
    const endpoint = '/api/upload-video/nemo_agent/me/:sessionId';
    const body = multipartBody({ field: 'files', ...file, open: () => file.open() });
    const data = await this.#json(
      {
        ...this.#post(cred, `/api/upload-video/nemo_agent/me/${seg(sessionId)}`, endpoint),
        headers: { 'content-type': body.contentType, 'content-length': String(body.contentLength) },
        body: () => body.open(),
        headersTimeout: this.#options.uploadTimeoutMs,
      },
      (answer) => envelopeData(answer, endpoint, uploadDataSchema),
    );
    return data.files.map(toUploadedFile);
  }

  async uploadUrls(cred: NemoCredentials, sessionId: string, urls: string[]): Promise<UploadedFile[]> {
    const endpoint = '/api/upload-video/nemo_agent/me/:sessionId';
    const data = await this.#json(
      {
        ...this.#post(cred, `/api/upload-video/nemo_agent/me/${seg(sessionId)}`, endpoint),
        body: () => JSON.stringify({ urls, source_type: 'url' }),
        headersTimeout: this.#options.uploadTimeoutMs,
      },
      (answer) => envelopeData(answer, endpoint, uploadDataSchema),
    );
    return data.files.map(toUploadedFile);
  }

  async credits(cred: NemoCredentials): Promise<Credits> {
    const endpoint = '/api/credits/balance/simple';
    return this.#json(this.#get(cred, endpoint, endpoint), (answer) => envelopeData(answer, endpoint, creditsDataSchema));
  }

  async state(cred: NemoCredentials, sessionId: string): Promise<SessionState> {
    const endpoint = '/api/state/nemo_agent/me/:sessionId/latest';
    const data = await this.#json(this.#get(cred, `/api/state/nemo_agent/me/${seg(sessionId)}/latest`, endpoint), (answer) =>
      envelopeData(answer, endpoint, stateDataSchema),
    );
    const state: SessionState = { draft: data.state?.draft };
    if (data.state?.video_infos !== undefined) state.videoInfos = data.state.video_infos;
    if (data.state?.canvas_config !== undefined) state.canvasConfig = data.state.canvas_config;
    if (data.state?.generated_media !== undefined) state.generatedMedia = data.state.generated_media;
    return state;
  }

  /** Submits an export. A reused id is refused with 409 (a `NemoApiError`): retry with a new id. */
  async submitRender(cred: NemoCredentials, request: { id: string; sessionId: string; draft: unknown }): Promise<RenderStatus> {
    const endpoint = '/api/render/proxy/lambda';
    const body = JSON.stringify({
      id: request.id,
      sessionId: request.sessionId,
      draft: request.draft,
      output: { format: 'mp4', quality: 'high' },
    });
    return this.#json({ ...this.#post(cred, endpoint, endpoint), body: () => body }, (answer) =>
      renderStatusFromAnswer(checkAnswer(answer, endpoint), request.id),
    );
  }

  async renderStatus(cred: NemoCredentials, id: string): Promise<RenderStatus> {
    const endpoint = '/api/render/proxy/lambda/:id';
    return this.#json(this.#get(cred, `/api/render/proxy/lambda/${seg(id)}`, endpoint), (answer) =>
      renderStatusFromAnswer(checkAnswer(answer, endpoint), id),
    );
  }

  /**
   * Opens the finished MP4 as a stream: `status.url` first, without the bearer (it is a CDN);
   * if there is none or it fails, the proxy download with the bearer.
   */
  async openRenderOutput(cred: NemoCredentials, status: RenderStatus): Promise<{ stream: Readable; size?: number }> {
    if (status.url !== undefined) {
      try {
        return await this.#download(status.url, {}, 'render output url');
      } catch (error) {
        this.#logger.warn({ endpoint: 'render output url', renderId: status.id, error: describeError(error) }, 'nemo render url failed; using the proxy download');
      }
    }
    const endpoint = '/api/render/proxy/:id/download';
    const call = this.#get(cred, `/api/render/proxy/${seg(status.id)}/download`, endpoint);
    return this.#withRetries(call, async (token) => {
      const response = await this.#send(call, token);
      if (response.statusCode >= 300 && response.statusCode < 400) {
        const location = headerValue(response, 'location');
        await discard(response);
        if (location === undefined) throw new NemoApiError({ status: response.statusCode, endpoint, serviceMessage: 'redirect without a location' });
        // The bearer never follows a redirect: the target is typically a CDN.
        return this.#download(new URL(location, this.#base + call.path).href, {}, endpoint);
      }
      return this.#openedBody(response, endpoint);
    });
  }

  async cancelRender(cred: NemoCredentials, id: string): Promise<void> {
    const endpoint = '/api/render/proxy/lambda/:id/cancel';
    await this.#json(this.#post(cred, `/api/render/proxy/lambda/${seg(id)}/cancel`, endpoint), (answer) => {
      checkAnswer(answer, endpoint);
    });
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  #get(cred: NemoCredentials, path: string, endpoint: string): Call {
    return { method: 'GET', path, endpoint, cred, platform: cred.platform, idempotent: true };
  }

  #post(cred: NemoCredentials, path: string, endpoint: string): Call {
    return { method: 'POST', path, endpoint, cred, platform: cred.platform, idempotent: false };
  }

  #headers(call: Call, token: string | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      'user-agent': `${this.#options.source}/${this.#options.version}`,
      'x-skill-source': this.#options.source,
      'x-skill-version': this.#options.version,
      'x-skill-platform': call.platform,
    };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (call.method === 'POST' && call.body !== undefined) headers['content-type'] = 'application/json';
    return { ...headers, ...call.headers };
  }

  async #send(call: Call, token: string | undefined, signal: AbortSignal | undefined = call.signal): Promise<Response> {
    const started = Date.now();
    const body = call.body ? await call.body() : undefined;
    // A streamed upload takes as long as its bytes do: only answers that should be quick are watched.
    const onSlow = this.#onSlowAnswer;
    const slow = onSlow && typeof body !== 'object' ? setTimeout(() => onSlow(call.endpoint), this.#options.slowAnswerMs) : undefined;
    slow?.unref();
    let response: Response;
    try {
      response = await send({
        dispatcher: this.#agent,
        method: call.method,
        url: this.#base + call.path,
        endpoint: call.endpoint,
        headers: this.#headers(call, token),
        body,
        headersTimeout: call.headersTimeout ?? this.#options.requestTimeoutMs,
        bodyTimeout: call.bodyTimeout ?? this.#options.requestTimeoutMs,
        signal,
      });
    } finally {
      clearTimeout(slow);
    }
    this.#logger.debug({ method: call.method, endpoint: call.endpoint, status: response.statusCode, ms: Date.now() - started }, 'nemo answer');
    return response;
  }

  /** The turn POST: once the message may have reached the agent, a failure must not invite a re-send. */
  async #sendTurn(call: Call, token: string | undefined, signal: AbortSignal): Promise<Response> {
    try {
      return await this.#send(call, token, signal);
    } catch (error) {
      if (!(error instanceof NemoNetworkError) || failedBeforeSending(error.cause)) throw error;
      const code = isTimeout(error.cause) === 'headers' ? 'nemo_turn_idle_timeout' : 'nemo_stream_broken';
      throw new NemoStreamError(code, '', error.cause);
    }
  }

  async #json<T>(call: Call, read: (answer: RawAnswer) => T): Promise<T> {
    return this.#withRetries(call, async (token) => read(await readAnswer(await this.#send(call, token), call.endpoint, call.signal)));
  }

  /**
   * The retry policy, once per kind and per call: 1001 → renew the token; 429 → wait the
   * configured time (or a longer Retry-After); a 5xx or lost answer → again, for GETs only.
   */
  async #withRetries<T>(call: Call, attempt: (token: string | undefined) => Promise<T>): Promise<T> {
    let token = call.cred ? await call.cred.token() : undefined;
    let renewed = false;
    let waited = false;
    let repeated = false;
    for (;;) {
      try {
        return await attempt(token);
      } catch (error) {
        if (!(error instanceof NemoApiError) && !(error instanceof NemoNetworkError)) throw error;
        this.#onError(error);
        const verdict = classify(error);
        const status = error instanceof NemoApiError ? error.status : undefined;
        const nemoCode = error instanceof NemoApiError ? error.nemoCode : undefined;
        if (verdict.action === 'renew_token' && !renewed && call.cred?.renew) {
          renewed = true;
          this.#logger.warn({ endpoint: call.endpoint, status, nemoCode }, 'nemo token refused; renewing it once');
          token = await call.cred.renew();
          continue;
        }
        if (verdict.action === 'wait_and_retry' && !waited && (verdict.retryAfterMs ?? 0) <= MAX_INLINE_RETRY_AFTER_MS) {
          waited = true;
          const wait = Math.max(this.#options.rateLimitRetryMs, verdict.retryAfterMs ?? 0);
          this.#logger.warn({ endpoint: call.endpoint, status, waitMs: wait }, 'nemo rate limit; waiting once');
          await this.#sleep(wait, call.signal);
          continue;
        }
        if (verdict.action === 'retry' && !repeated && call.idempotent) {
          repeated = true;
          this.#logger.warn({ endpoint: call.endpoint, status, error: describeError(error) }, 'nemo call failed; retrying once');
          continue;
        }
        throw error;
      }
    }
  }

  /** A plain GET with no credentials, following redirects: for CDN links. */
  async #download(url: string, headers: Record<string, string>, endpoint: string): Promise<{ stream: Readable; size?: number }> {
    let target = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const response = await send({
        dispatcher: this.#agent,
        method: 'GET',
        url: target,
        endpoint,
        headers: { 'user-agent': `${this.#options.source}/${this.#options.version}`, ...headers },
        headersTimeout: this.#options.requestTimeoutMs,
        bodyTimeout: this.#options.requestTimeoutMs,
      });
      const location = headerValue(response, 'location');
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        await discard(response);
        target = new URL(location, target).href;
        continue;
      }
      return this.#openedBody(response, endpoint);
    }
    throw new NemoApiError({ status: 310, endpoint, serviceMessage: 'too many redirects' });
  }

  async #openedBody(response: Response, endpoint: string): Promise<{ stream: Readable; size?: number }> {
    if (response.statusCode < 200 || response.statusCode > 299) {
      const answer = await readAnswer(response, endpoint);
      checkAnswer(answer, endpoint);
      throw new NemoApiError({ status: answer.status, endpoint });
    }
    const length = Number(headerValue(response, 'content-length'));
    return Number.isSafeInteger(length) && length >= 0 ? { stream: response.body, size: length } : { stream: response.body };
  }
}

function toUploadedFile(file: {
  filename: string;
  file_type?: string | undefined;
  cdn_url?: string | undefined;
  duration?: number | undefined;
  width?: number | undefined;
  height?: number | undefined;
}): UploadedFile {
  const out: UploadedFile = { filename: file.filename };
  if (file.file_type !== undefined) out.fileType = file.file_type;
  if (file.cdn_url !== undefined) out.cdnUrl = file.cdn_url;
  if (file.duration !== undefined) out.duration = file.duration;
  if (file.width !== undefined) out.width = file.width;
  if (file.height !== undefined) out.height = file.height;
  return out;
}
