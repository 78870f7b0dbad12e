import type { RequestListener } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';

export const BOARD_PATH = '/admin/queues';

/**
 * The board's actions an operator needs for a render: retry (one job or every failed one),
 * remove a job (cancel), promote a delayed one (poll now), clean finished ones. Adding,
 * editing, emptying, obliterating or pausing the queue are refused: each could lose or forge
 * renders people are waiting for.
 */
const ALLOWED_ACTIONS: readonly RegExp[] = [
  /^\/api\/queues\/[^/]+\/retry\/failed$/,
  /^\/api\/queues\/[^/]+\/promote$/,
  /^\/api\/queues\/[^/]+\/clean\/(completed|failed)$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/(retry|clean|promote)$/,
];

/** Whether a request to the board (path below `BOARD_PATH`) may go through. */
export function boardAllows(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  if (method !== 'PUT') return false;
  const below = path.slice(BOARD_PATH.length);
  return ALLOWED_ACTIONS.some((action) => action.test(below));
}

/** Keys whose values never reach the page, at any depth of a job's data or return value. */
const SECRET_KEY = /token|secret|password|authorization|cookie/i;

/** A copy without secret-looking keys: render jobs hold none, and an older or odd job stays covered. */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, SECRET_KEY.test(key) ? '[hidden]' : withoutSecrets(item, depth + 1)]),
  );
}

/** bull-board on the render queue, served under `BOARD_PATH` by a small Hono app; its UI files ship in the package. */
export function queueBoard(queue: Queue): RequestListener {
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(BOARD_PATH);
  const adapter = new BullMQAdapter(queue, { readOnlyMode: false, allowRetries: true, description: 'exports: submit, poll, deliver' });
  adapter.setFormatter('data', (data: unknown) => withoutSecrets(data));
  adapter.setFormatter('returnValue', (value: unknown) => withoutSecrets(value));
  createBullBoard({
    queues: [adapter],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Renders', hideDocsLink: true, miscLinks: [{ text: 'Overview', url: '/admin' }] } },
  });
  const app = new Hono();
  app.route(BOARD_PATH, serverAdapter.registerPlugin());
  return getRequestListener(app.fetch);
}
