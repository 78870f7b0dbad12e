import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { checkReadiness, type ReadinessChecks } from './readiness.js';

/** The port of a setting is taken: the message names the setting to change. */
export class PortInUseError extends Error {
  readonly code = 'port_in_use';
  constructor(readonly setting: string, readonly port: number) {
    super(`Port ${port} is already in use (${setting}): stop what listens there, or set ${setting} to a free port.`);
    this.name = 'PortInUseError';
  }
}

export interface HealthServerOptions {
  /** `HTTP_PORT`; 0 picks a free port (tests). */
  port: number;
  /** Default: every interface, so that the orchestrator and Prometheus reach it. */
  host?: string;
  metrics: { readonly registry: Registry };
  checks: ReadinessChecks;
  logger: Logger;
  /** Each readiness check answers within this or counts as failing; default 2000 ms. */
  checkTimeoutMs?: number;
  /** Other listeners served on the same port by exact path (the Telegram webhook). */
  mounts?: ReadonlyMap<string, RequestListener>;
  /**
   * `OPS_HTTP_PORT`: serve `/metrics` and `/readyz` on this port only (with `/healthz` on both),
   * so that a port open to the internet for the webhook does not show them.
   */
  opsPort?: number | undefined;
  /**
   * The operator's pages (`/admin…`), served where `/metrics` is; absent (no `ADMIN_PASSWORD`):
   * those paths are 404.
   */
  admin?: RequestListener | undefined;
}

export interface HealthServer {
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** The bound ops port, when `opsPort` was given. */
  readonly opsPort: number | undefined;
  close(): Promise<void>;
}

/**
 * `/healthz`: 200 while the process lives (liveness). `/readyz`: 200 when every check
 * passes, else 503 with a JSON body naming the failing ones (readiness). `/metrics`: the
 * Prometheus text format. `/admin…`: the operator's pages, when given.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const logger = options.logger.child({ component: 'health-server' });
  const checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  let lastReady: boolean | undefined;

  const readyz = async (res: ServerResponse, head: boolean): Promise<void> => {
    const readiness = await checkReadiness(options.checks, checkTimeoutMs);
    if (readiness.ready !== lastReady) {
      // Logged on change only: probes run every few seconds.
      if (readiness.ready) logger.info({ checks: readiness.checks }, 'ready');
      else logger.warn({ failing: readiness.failing }, 'not ready');
      lastReady = readiness.ready;
    }
    const details = Object.keys(readiness.details).length > 0 ? { details: readiness.details } : {};
    const body = readiness.ready
      ? { status: 'ready', checks: readiness.checks, ...details }
      : { status: 'not ready', failing: readiness.failing, checks: readiness.checks, ...details };
    send(res, readiness.ready ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, head);
  };

  const metrics = async (res: ServerResponse, head: boolean): Promise<void> => {
    const { registry } = options.metrics;
    send(res, 200, registry.contentType, await registry.metrics(), head);
  };

  /** `ops`: this server shows /metrics and /readyz; `public`: it serves the mounts. */
  const handle = async (req: IncomingMessage, res: ServerResponse, serves: { ops: boolean; mounts: boolean }): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://health.invalid').pathname;
    const mounted = serves.mounts ? options.mounts?.get(path) : undefined;
    if (mounted) return void mounted(req, res);
    if (serves.ops && options.admin !== undefined && isAdminPath(path)) return void options.admin(req, res);
    const route = ROUTES.get(path);
    if (route === undefined || (route !== 'healthz' && !serves.ops)) return send(res, 404, TEXT, 'not found\n', false);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, TEXT, 'method not allowed\n', false);
    }
    const head = req.method === 'HEAD';
    if (route === 'healthz') return send(res, 200, TEXT, 'ok\n', head);
    if (route === 'readyz') return readyz(res, head);
    return metrics(res, head);
  };

  const listen = async (port: number, serves: { ops: boolean; mounts: boolean }, setting: string): Promise<Server> => {
    const server = createServer((req, res) => {
      handle(req, res, serves).catch((error: unknown) => {
        logger.warn({ err: error, path: req.url }, 'health server request failed');
        if (!res.headersSent) send(res, 500, TEXT, 'internal error\n', false);
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException): void =>
        reject(error.code === 'EADDRINUSE' ? new PortInUseError(setting, port) : error);
      server.once('error', fail);
      server.listen(port, options.host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    // Past listen, a server error (rare: e.g. EMFILE) is logged; the process goes on.
    server.on('error', (error) => logger.warn({ err: error }, 'health server error'));
    return server;
  };

  const separate = options.opsPort !== undefined;
  const server = await listen(options.port, { ops: !separate, mounts: true }, 'HTTP_PORT');
  const ops = options.opsPort === undefined ? undefined : await listen(options.opsPort, { ops: true, mounts: false }, 'OPS_HTTP_PORT').catch(async (error: unknown) => {
    await closeServer(server);
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  const opsPort = ops === undefined ? undefined : (ops.address() as AddressInfo).port;
  logger.info({ port, ...(opsPort === undefined ? {} : { opsPort }) }, 'health server listening');

  return {
    port,
    opsPort,
    async close() {
      await Promise.all([closeServer(server), ops === undefined ? undefined : closeServer(ops)]);
    },
  };
}

async function closeServer(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  // Keep-alive sockets of a scraper would otherwise hold close() open.
  server.closeAllConnections();
  await closed;
}

const TEXT = 'text/plain; charset=utf-8';
const ROUTES: ReadonlyMap<string, 'healthz' | 'readyz' | 'metrics'> = new Map([
  ['/healthz', 'healthz'],
  ['/readyz', 'readyz'],
  ['/metrics', 'metrics'],
]);

/** The operator's pages live under `/admin`. */
function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}
