import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { guildCreatePayload, userPayload } from './payloads.js';
import type { FakeDiscordState } from './state.js';
import type { GatewaySessionRecord } from './types.js';

export const Intents = {
  Guilds: 1 << 0,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

interface Session {
  socket: WebSocket;
  record: GatewaySessionRecord;
  seq: number;
  ready: boolean;
}

/**
 * The gateway: plain JSON text frames (what discord.js speaks without zlib-sync). HELLO,
 * IDENTIFY → READY + GUILD_CREATE, heartbeats and ACKs, dispatches filtered by intents.
 */
export class FakeGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly live = new Set<Session>();
  private readonly readyWaiters: Array<() => void> = [];

  constructor(private readonly state: FakeDiscordState) {}

  get url(): string {
    return `${this.state.baseUrl.replace(/^http/, 'ws')}/gateway`;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/gateway') {
      socket.destroy();
      return;
    }
    if (Date.now() < this.state.refuseGatewayUntil) {
      // What a load balancer answers while the gateway behind it is down.
      this.state.refusedGatewayConnections += 1;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nService Unavailable');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, url.searchParams));
  }

  private connected(socket: WebSocket, params: URLSearchParams): void {
    const record: GatewaySessionRecord = { id: randomBytes(16).toString('hex'), intents: 0, heartbeats: 0, identified: false, closed: false };
    this.state.sessions.push(record);
    const session: Session = { socket, record, seq: 0, ready: false };
    socket.on('close', () => {
      record.closed = true;
      this.live.delete(session);
    });
    socket.on('error', () => undefined);
    if (params.get('v') !== '10' || params.get('encoding') !== 'json') {
      this.state.violation(`gateway: connected with v=${params.get('v')} encoding=${params.get('encoding')}`);
      socket.close(4012, 'Invalid API version');
      return;
    }
    if (params.has('compress')) this.state.violation('gateway: asked for transport compression the fake does not speak');
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.state.violation('gateway: binary frame from the client');
        return;
      }
      let payload: { op?: number; d?: unknown };
      try {
        payload = JSON.parse(data.toString()) as { op?: number; d?: unknown };
      } catch {
        socket.close(4002, 'Decode error');
        return;
      }
      this.onPayload(session, payload);
    });
    this.send(session, { op: 10, d: { heartbeat_interval: this.state.heartbeatIntervalMs }, s: null, t: null });
  }

  private onPayload(session: Session, payload: { op?: number; d?: unknown }): void {
    switch (payload.op) {
      case 1:
        session.record.heartbeats += 1;
        this.send(session, { op: 11, d: null, s: null, t: null });
        return;
      case 2:
        this.identify(session, payload.d as { token?: string; intents?: number; compress?: boolean });
        return;
      case 6:
        this.resume(session, payload.d as { token?: string; session_id?: string; seq?: number } | undefined);
        return;
      default:
        return;
    }
  }

  private identify(session: Session, d: { token?: string; intents?: number } | undefined): void {
    if (session.record.identified) {
      session.socket.close(4005, 'Already authenticated');
      return;
    }
    if (d?.token !== this.state.token || this.state.gatewayRejectsToken) {
      session.socket.close(4004, 'Authentication failed');
      return;
    }
    session.record.identified = true;
    session.record.sessionId = session.record.id;
    session.record.intents = d.intents ?? 0;
    this.live.add(session);
    this.dispatch(session, 'READY', {
      v: 10,
      user: { ...userPayload(this.state.botUser), verified: true, mfa_enabled: false, flags: 0 },
      guilds: [{ id: this.state.guildId, unavailable: true }],
      session_id: session.record.id,
      resume_gateway_url: this.url,
      shard: [0, 1],
      application: { id: this.state.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
    });
    if ((session.record.intents & Intents.Guilds) !== 0) this.dispatch(session, 'GUILD_CREATE', guildCreatePayload(this.state));
    session.ready = true;
    for (const waiter of this.readyWaiters.splice(0)) waiter();
  }

  /**
   * A session whose connection closed can be resumed (RESUMED, no READY); events sent while it
   * was away are not replayed. Anything else is refused with op 9, and the client identifies again.
   */
  private resume(session: Session, d: { token?: string; session_id?: string; seq?: number } | undefined): void {
    const previous = [...this.state.sessions].reverse().find((record) => record.sessionId !== undefined && record.sessionId === d?.session_id);
    if (!previous?.closed || d?.token !== this.state.token || this.state.gatewayRejectsToken) {
      this.send(session, { op: 9, d: false, s: null, t: null });
      return;
    }
    session.record.identified = true;
    session.record.resumed = true;
    session.record.sessionId = previous.sessionId;
    session.record.intents = previous.intents;
    session.seq = typeof d.seq === 'number' ? d.seq : 0;
    this.live.add(session);
    session.ready = true;
    this.dispatch(session, 'RESUMED', {});
  }

  /** Resolves once some session is ready. */
  whenReady(): Promise<void> {
    if ([...this.live].some((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  hasReadySession(): boolean {
    return [...this.live].some((s) => s.ready);
  }

  /** Sends an event to every ready session whose intents allow it; `build` sees each session's intents. */
  broadcast(event: string, build: (intents: number) => Record<string, unknown> | undefined): number {
    let sent = 0;
    for (const session of this.live) {
      if (!session.ready) continue;
      const d = build(session.record.intents);
      if (d === undefined) continue;
      this.dispatch(session, event, d);
      sent += 1;
    }
    return sent;
  }

  private dispatch(session: Session, event: string, d: Record<string, unknown>): void {
    session.seq += 1;
    this.send(session, { op: 0, t: event, s: session.seq, d });
  }

  private send(session: Session, payload: unknown): void {
    if (session.socket.readyState === session.socket.OPEN) session.socket.send(JSON.stringify(payload));
  }

  /** Closes every open connection with `code`; the client decides whether to resume or reconnect. */
  closeAll(code: number, reason: string): void {
    for (const session of this.live) session.socket.close(code, reason);
  }

  async close(): Promise<void> {
    for (const session of this.live) session.socket.terminate();
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
