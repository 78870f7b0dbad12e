import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny gateway in front of two servers: `/run_sse` goes to Google's ADK API server, every
 * other path to the fake NemoVideo. Creating a project at the fake also creates the ADK
 * session under the same id, the way NemoVideo keeps its agent's session beside its task.
 */
export interface Router {
  readonly url: string;
  /** Where every path but `/run_sse` goes: set once the fake NemoVideo is up. */
  nemoUrl: string;
  /** Asks ADK for streaming (`streaming: true`) on the turns from now on, as a streaming gateway would. */
  streaming: boolean;
  /** Cuts the bot's connection of the next turn after this many SSE frames were passed on. */
  cutNextTurnAfter(frames: number): void;
  /** The bodies of the `/run_sse` requests the bot sent, as received. */
  readonly turnBodies: Record<string, unknown>[];
  /** How many `/run_sse` streams are still open towards the bot. */
  openTurns(): number;
  close(): Promise<void>;
}

const SESSION_PATH = '/api/tasks/me/with-session/nemo_agent';
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host'];

export interface RouterOptions {
  adkUrl: string;
  createAdkSession(sessionId: string): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function forwardHeaders(headers: IncomingHttpHeaders, length?: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.includes(name)) out[name] = value;
  if (length !== undefined) out['content-length'] = String(length);
  return out;
}

function upstream(base: string, req: IncomingMessage, body: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL(req.url ?? '/', base), { method: req.method, headers: forwardHeaders(req.headers, body.length) }, resolve);
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

export async function startRouter(options: RouterOptions): Promise<Router> {
  let cutAfter: number | undefined;
  let open = 0;
  const turnBodies: Record<string, unknown>[] = [];
  const router = {
    url: '',
    nemoUrl: '',
    streaming: false,
    turnBodies,
    cutNextTurnAfter(frames: number) {
      cutAfter = frames;
    },
    openTurns: () => open,
    close: async () => undefined,
  };

  async function runSse(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    turnBodies.push(body);
    const sent = router.streaming ? Buffer.from(JSON.stringify({ ...body, streaming: true })) : raw;
    const answer = await upstream(options.adkUrl, req, sent);
    const cut = cutAfter;
    cutAfter = undefined;
    res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
    open += 1;
    res.once('close', () => {
      open -= 1;
      // The bot left (or was cut): ADK learns it the way it would from a real client.
      answer.destroy();
    });
    let frames = 0;
    let pending = '';
    for await (const chunk of answer as AsyncIterable<Buffer>) {
      if (cut === undefined) {
        res.write(chunk);
        continue;
      }
      pending += chunk.toString('utf8');
      let end = pending.indexOf('\n\n');
      while (end >= 0) {
        const frame = pending.slice(0, end + 2);
        pending = pending.slice(end + 2);
        frames += 1;
        if (frames >= cut) {
          // A network cut once the frame is out: the socket closes without the chunked stream's end.
          res.write(frame, () => res.socket?.destroy());
          return;
        }
        res.write(frame);
        end = pending.indexOf('\n\n');
      }
    }
    res.end(pending);
  }

  async function toNemo(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const answer = await upstream(router.nemoUrl, req, raw);
    const bytes = await readBody(answer);
    if (req.method === 'POST' && new URL(req.url ?? '/', 'http://x').pathname === SESSION_PATH && answer.statusCode === 200) {
      const parsed = JSON.parse(bytes.toString('utf8')) as { code?: number; data?: { session_id?: string } };
      if (parsed.code === 0 && parsed.data?.session_id !== undefined) await options.createAdkSession(parsed.data.session_id);
    }
    res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers, bytes.length));
    res.end(bytes);
  }

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const raw = await readBody(req);
        if (new URL(req.url ?? '/', 'http://x').pathname === '/run_sse') await runSse(req, res, raw);
        else await toNemo(req, res, raw);
      } catch (error) {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `router: ${(error as Error).message}` }));
        } else {
          res.destroy();
        }
      }
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  router.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  router.close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  return router;
}
