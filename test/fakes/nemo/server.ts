import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anonymousToken, claimToken } from './auth-routes.js';
import { drain, header, readJson, sendError, sendJson } from './http-io.js';
import { createSession, credits, sessionState } from './project-routes.js';
import { cancelRender, cdn, downloadRender, pollRender, renderOutputSha256, submitRender } from './render-routes.js';
import type { AuthedContext, RouteContext } from './route-context.js';
import { FakeState } from './state.js';
import { runSse } from './turn-route.js';
import type { FakeNemo, FakeNemoOptions, FakeRoute, Failure, RecordedRequest } from './types.js';
import { upload } from './upload-route.js';

type Handler<C> = (context: C) => void | Promise<void>;

type RouteDef = {
  methods: string[];
  pattern: RegExp;
  route: FakeRoute;
  /** `json`: read whole and recorded before the handler; `stream`: the handler reads it. */
  body: 'json' | 'none' | 'stream';
} & (
  | { access: 'bearer'; handle: Handler<AuthedContext> }
  | { access: 'public'; handle: Handler<RouteContext> }
);

const ROUTES: RouteDef[] = [
  { methods: ['POST'], pattern: /^\/api\/auth\/anonymous-token$/, route: 'anonymous-token', body: 'none', access: 'public', handle: anonymousToken },
  { methods: ['POST'], pattern: /^\/api\/tasks\/me\/with-session\/nemo_agent$/, route: 'session', body: 'json', access: 'bearer', handle: createSession },
  { methods: ['POST'], pattern: /^\/api\/auth\/claim-token$/, route: 'claim', body: 'json', access: 'bearer', handle: claimToken },
  { methods: ['POST'], pattern: /^\/run_sse$/, route: 'run_sse', body: 'json', access: 'bearer', handle: runSse },
  { methods: ['POST'], pattern: /^\/api\/upload-video\/nemo_agent\/me\/([^/]+)$/, route: 'upload', body: 'stream', access: 'bearer', handle: upload },
  { methods: ['GET'], pattern: /^\/api\/credits\/balance\/simple$/, route: 'credits', body: 'none', access: 'bearer', handle: credits },
  { methods: ['GET'], pattern: /^\/api\/state\/nemo_agent\/me\/([^/]+)\/latest$/, route: 'state', body: 'none', access: 'bearer', handle: sessionState },
  { methods: ['POST'], pattern: /^\/api\/render\/proxy\/lambda$/, route: 'render-submit', body: 'json', access: 'bearer', handle: submitRender },
  { methods: ['GET'], pattern: /^\/api\/render\/proxy\/lambda\/([^/]+)$/, route: 'render-poll', body: 'none', access: 'bearer', handle: pollRender },
  { methods: ['POST'], pattern: /^\/api\/render\/proxy\/lambda\/([^/]+)\/cancel$/, route: 'render-cancel', body: 'none', access: 'bearer', handle: cancelRender },
  { methods: ['GET', 'HEAD'], pattern: /^\/api\/render\/proxy\/([^/]+)\/download$/, route: 'render-download', body: 'none', access: 'bearer', handle: downloadRender },
  { methods: ['GET', 'HEAD'], pattern: /^\/cdn\/([^/]+)\.mp4$/, route: 'cdn', body: 'none', access: 'public', handle: cdn },
];

const ATTRIBUTION = ['x-skill-source', 'x-skill-version', 'x-skill-platform'] as const;

/** Starts a fake NemoVideo API on 127.0.0.1 that follows docs/nemo-api.md. */
export async function startFakeNemo(options: FakeNemoOptions = {}): Promise<FakeNemo> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const live = new FakeState(`http://127.0.0.1:${port}`, options);
  // Attached only now: nobody knows the port before, and every answer needs the base URL.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(live, req, res));

  return {
    url: live.baseUrl,
    requests: live.requests,
    violations: live.violations,
    served: live.served,
    issuedTokens: live.issuedTokens,
    tokensByClientId: live.tokensByClientId,
    sessions: live.sessions,
    claimTokens: live.claimTokens,
    sseCalls: live.sseCalls,
    clientAborts: live.clientAborts,
    uploads: live.uploads,
    uploadHead: (sha256) => live.uploadHeads.get(sha256),
    renders: live.renders,
    renderPolls: live.renderPolls,
    get renderScript() {
      return live.renderScript;
    },
    set renderScript(script) {
      live.renderScript = script;
    },
    async close() {
      live.shutdown.abort(new Error('fake NemoVideo closed'));
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
    pendingTurnFaults: (sessionIds) => live.pendingTurnFaults(sessionIds),
    failNext(route: FakeRoute, failure: Failure, times = 1) {
      live.failNext(route, failure, times);
    },
    expireToken: (token) => live.expireToken(token),
    setCredits: (token, value) => live.setCredits(token, value),
    creditsOf: (token) => ({ ...live.creditsOfUser(live.userOfToken(token)) }),
    draftOf: (sessionId) => structuredClone(live.session(sessionId).draft),
    setDraft: (sessionId, draft) => {
      live.session(sessionId).draft = structuredClone(draft);
    },
    setGeneratedMedia: (sessionId, media) => {
      live.session(sessionId).generatedMedia = structuredClone(media);
    },
    scriptTurn: (script) => {
      live.turnScripts.push(script);
    },
    scriptRender: (script) => {
      live.renderQueue.push(script);
    },
    outputSha256: (renderId) => renderOutputSha256(live, renderId),
    turnsEnded: (count) => turnsEnded(live, count),
  };
}

async function handle(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', state.baseUrl);
  const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, at: Date.now() };
  state.requests.push(record);
  if (/nmv_usr_/.test(req.url ?? '')) state.violation(`${url.pathname}: a bearer token appears in the URL`);
  try {
    const match = ROUTES.map((def) => ({ def, found: def.pattern.exec(url.pathname) })).find(({ found }) => found !== null);
    if (match === undefined || match.found === null) {
      state.violation(`${record.method} ${url.pathname}: no such route`);
      await drain(req);
      sendError(res, 404, 404, 'not found');
      return;
    }
    const { def, found } = match;
    if (!def.methods.includes(record.method)) {
      state.violation(`${record.method} ${url.pathname}: wrong method`);
      await drain(req);
      sendError(res, 405, 405, 'method not allowed');
      return;
    }
    const params = found.slice(1).map((value) => decodeURIComponent(value));
    await dispatch(state, def, { req, res, state, params, record, body: undefined });
  } catch (error) {
    state.violation(`${record.method} ${url.pathname}: the fake itself failed: ${error instanceof Error ? error.message : String(error)}`);
    if (!res.headersSent) sendError(res, 500, 500, 'fake internal error');
    else res.destroy();
  }
}

async function dispatch(state: FakeState, def: RouteDef, context: RouteContext): Promise<void> {
  const { req, res } = context;
  const missing = def.access === 'bearer' ? ATTRIBUTION.filter((name) => header(req, name) === undefined) : [];
  if (missing.length > 0) state.violation(`${def.route}: missing ${missing.join(', ')}`);

  if (def.body === 'json') {
    if (!(header(req, 'content-type') ?? '').startsWith('application/json')) state.violation(`${def.route}: Content-Type is not application/json`);
    const body = await readJson(req);
    if (body.ok) {
      context.body = body.value;
      context.record.body = body.value;
    } else {
      state.violation(`${def.route}: ${body.reason}`);
    }
  }

  const failure = state.takeFailure(def.route);
  if (failure !== undefined) {
    await drain(req);
    state.serve(def.route, failure.label ?? `HTTP ${failure.status ?? 200} code ${failure.code ?? failure.status ?? 500}`);
    sendFailure(res, failure);
    return;
  }
  if (def.access === 'public') {
    await def.handle(context);
    return;
  }
  const bearer = bearerOf(req);
  const caller = bearer === undefined ? undefined : state.caller(bearer);
  if (caller === undefined) {
    await drain(req);
    if (bearer !== undefined && state.isExpired(bearer)) state.serve(def.route, 'expired token');
    sendError(res, 401, 1001, 'token invalid or expired');
    return;
  }
  if (def.route === 'render-submit' && missing.length > 0) {
    // The real service blocks exports of unattributed clients this way.
    sendError(res, 402, 402, 'export requires a paid plan');
    return;
  }
  await def.handle({ ...context, caller });
}

function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer (\S+)$/.exec(header(req, 'authorization') ?? '')?.[1];
}

function sendFailure(res: ServerResponse, failure: Failure): void {
  const status = failure.status ?? 200;
  const code = failure.code ?? failure.status ?? 500;
  const headers: Record<string, string> = failure.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(failure.retryAfterSeconds) };
  if (failure.body !== undefined) sendJson(res, status, failure.body, headers);
  else sendError(res, status, code, failure.message ?? `injected failure ${code}`, headers);
}

function turnsEnded(state: FakeState, count: number): Promise<void> {
  if (state.endedTurns >= count) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (ended: number): void => {
      if (ended < count) return;
      state.turnEvents.off('ended', check);
      resolve();
    };
    state.turnEvents.on('ended', check);
  });
}
