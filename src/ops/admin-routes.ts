import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AdminAuth } from './admin-auth.js';
import { readOverview, type OverviewSources } from './admin-overview.js';
import { overviewPage } from './admin-page.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { BOARD_PATH, boardAllows, queueBoard } from './queue-board.js';

export interface AdminPagesOptions extends OverviewSources {
  /** `ADMIN_PASSWORD`. */
  password: string;
  logger: Logger;
  throttle?: LoginThrottleOptions;
}

/**
 * `/admin` (the overview) and `/admin/queues` (bull-board on the render queue), every
 * request behind the login. Nothing here is ever served without it.
 */
export function adminPages(options: AdminPagesOptions): RequestListener {
  const logger = options.logger.child({ component: 'admin' });
  const auth = new AdminAuth(options.password, new LoginThrottle(options.throttle));
  const board = queueBoard(options.renders.queue);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const verdict = auth.check(req);
    if (!verdict.ok) {
      if (verdict.status === 429) {
        // Logged without the attempt: the password (right or wrong) is never written anywhere.
        logger.warn({ client: req.socket.remoteAddress, retryAfterSeconds: verdict.retryAfterSeconds }, 'admin login refused: too many wrong passwords');
        return send(res, 429, 'too many wrong passwords: try again later\n', { 'Retry-After': String(verdict.retryAfterSeconds) });
      }
      return send(res, 401, 'login required\n', { 'WWW-Authenticate': 'Basic realm="nemo-video-bot operator", charset="UTF-8"' });
    }
    const method = req.method ?? 'GET';
    // Basic credentials ride along on any request the browser makes, a forged cross-site one too.
    if (method !== 'GET' && method !== 'HEAD' && !sameOrigin(req)) return send(res, 403, 'cross-site request refused\n');
    if (url.pathname === '/admin' || url.pathname === '/admin/') {
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      const page = overviewPage(await readOverview(options, url.searchParams.get('q') ?? undefined));
      return send(res, 200, page, { 'Content-Type': 'text/html; charset=utf-8' });
    }
    if (url.pathname === BOARD_PATH || url.pathname.startsWith(`${BOARD_PATH}/`)) {
      if (!boardAllows(method, url.pathname)) return send(res, 403, 'this action is not offered on the render queue\n');
      if (method !== 'GET' && method !== 'HEAD') logger.info({ action: `${method} ${url.pathname}` }, 'admin board action');
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Cache-Control', 'no-store');
      return void (await board(req, res));
    }
    return send(res, 404, 'not found\n');
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.warn({ err: error, path: req.url }, 'admin page failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
}

/** The browser says where the request came from (`Sec-Fetch-Site`, else `Origin`); a request without either is a tool's. */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
