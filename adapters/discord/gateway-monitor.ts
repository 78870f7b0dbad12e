import { GatewayCloseCodes } from 'discord.js';
import type { Logger } from 'pino';

export type ConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'disconnected';

/** The gateway connection as `/readyz` shows it. */
export interface GatewayStatus {
  /** Every shard has a live session. */
  ready: boolean;
  state: ConnectionState;
  /** When the state last changed (ISO). */
  since: string;
  /** Connections closed since the start. */
  closes: number;
  lastClose?: { code: number; reason: string; at: string };
}

export interface GatewayMonitorOptions {
  /** Told of every close (the metric). */
  onClose?: (code: number) => void;
  /** Told when the connection comes up or goes down (the metric). */
  onConnected?: (connected: boolean) => void;
  /** One line per kind of event at most this often; the next one says how many were left out. Default 60 s. */
  logEveryMs?: number;
}

// The WebSocket codes a gateway connection ends with when Discord did not choose one.
const SOCKET_REASONS: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1005: 'no code given',
  1006: 'connection failed or lost (no close frame)',
  1011: 'server error',
  1012: 'service restart',
  1013: 'try again later',
};

/** Discord's documented meaning of a close code: discord.js passes the code on, not the server's words. */
export function closeReason(code: number): string {
  const name = (GatewayCloseCodes as unknown as Record<number, string | undefined>)[code];
  return name ?? SOCKET_REASONS[code] ?? 'unknown code';
}

/**
 * Follows the gateway connections: logs each close (code and reason), reconnect and resume,
 * at most one line per kind a minute (a gateway refusing every connection closes twice a
 * second), and keeps the state `/readyz` and the metrics show.
 */
export class GatewayMonitor {
  private readonly shards = new Map<number, ConnectionState>();
  private state: ConnectionState = 'connecting';
  private since = new Date();
  private closes = 0;
  private lastClose: GatewayStatus['lastClose'];
  private readonly limited = new Map<string, { at: number; left: number }>();
  private readonly logEveryMs: number;

  constructor(
    private readonly log: Logger,
    private readonly options: GatewayMonitorOptions = {},
  ) {
    this.logEveryMs = options.logEveryMs ?? 60_000;
  }

  closed(shardId: number, code: number): void {
    this.closes += 1;
    const reason = closeReason(code);
    this.lastClose = { code, reason, at: new Date().toISOString() };
    this.options.onClose?.(code);
    // 4200 is discord.js closing the socket itself to resume.
    const level = code === 4200 || code === 1000 ? 'info' : 'warn';
    this.limitedLog(`close:${code}`, level, { shardId, code, reason }, 'discord gateway connection closed');
  }

  reconnecting(shardId: number): void {
    this.set(shardId, 'reconnecting');
    this.limitedLog('reconnecting', 'info', { shardId }, 'discord gateway reconnecting');
  }

  resumed(shardId: number, replayed: number): void {
    this.set(shardId, 'ready');
    this.limitedLog('resumed', 'info', { shardId, replayed }, 'discord gateway session resumed');
  }

  shardReady(shardId: number): void {
    const again = this.shards.has(shardId);
    this.set(shardId, 'ready');
    if (again) this.limitedLog('reconnected', 'info', { shardId }, 'discord gateway connected again (new session)');
  }

  /** A close discord.js does not recover from: the shard stays down. */
  disconnected(shardId: number, code: number): void {
    this.set(shardId, 'disconnected');
    this.log.error({ shardId, code, reason: closeReason(code) }, 'discord gateway closed for good: no more reconnects');
  }

  error(message: string): void {
    this.limitedLog(`error:${message}`, 'warn', { message }, 'discord gateway error (it reconnects)');
  }

  /** An event discord.js could not read, other than an interaction (those are answered, and logged each). */
  unreadable(event: string, fields: Record<string, unknown>): void {
    this.limitedLog(`unreadable:${event}`, 'warn', { event, ...fields }, 'discord.js could not read a gateway event');
  }

  status(): GatewayStatus {
    return {
      ready: this.state === 'ready',
      state: this.state,
      since: this.since.toISOString(),
      closes: this.closes,
      ...(this.lastClose ? { lastClose: this.lastClose } : {}),
    };
  }

  private set(shardId: number, state: ConnectionState): void {
    this.shards.set(shardId, state);
    const states = [...this.shards.values()];
    const next: ConnectionState = states.includes('disconnected')
      ? 'disconnected'
      : states.every((s) => s === 'ready')
        ? 'ready'
        : (states.find((s) => s !== 'ready') ?? 'connecting');
    if (next === this.state) return;
    const wasReady = this.state === 'ready';
    this.state = next;
    this.since = new Date();
    if (wasReady !== (next === 'ready')) this.options.onConnected?.(next === 'ready');
  }

  private limitedLog(key: string, level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const entry = this.limited.get(key);
    if (entry !== undefined && now - entry.at < this.logEveryMs) {
      entry.left += 1;
      return;
    }
    const left = entry?.left ?? 0;
    // Keyed by close code or error text: a server inventing new ones must not grow it for ever.
    if (this.limited.size > 200) this.limited.clear();
    this.limited.set(key, { at: now, left: 0 });
    this.log[level]({ ...fields, ...(left > 0 ? { omittedSinceLastLine: left } : {}) }, message);
  }
}
