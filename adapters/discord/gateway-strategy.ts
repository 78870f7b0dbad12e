import {
  SimpleContextFetchingStrategy,
  WebSocketShard,
  WebSocketShardEvents,
  managerToFetchingStrategyOptions,
  type IShardingStrategy,
  type WebSocketManager,
  type WebSocketShardDestroyOptions,
  type WebSocketShardStatus,
} from '@discordjs/ws';
import { Collection, type GatewaySendPayload } from 'discord.js';

/** Close codes after which discord.js does not reconnect: the token, the intents or the shards are wrong. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4004, 4010, 4011, 4012, 4013, 4014]);

/** What the bot learns from the gateway connections that discord.js does not tell it. */
export interface GatewayHooks {
  /** Every close of a gateway connection, with its code (1006: it failed or was refused). */
  onClose(shardId: number, code: number): void;
  /** A dispatch discord.js threw on while reading it (a field it did not expect): that one event is lost. */
  onDispatchError(shardId: number, packet: { t?: unknown; d?: unknown }, error: unknown): void;
}

/** The gateway closed the first connection with a code discord.js does not recover from. */
export class GatewayClosedError extends Error {
  readonly code = 'discord_gateway_closed';
  constructor(readonly closeCode: number) {
    super(`the gateway closed the connection with ${closeCode}`);
    this.name = 'GatewayClosedError';
  }
}

interface LooseEmitter {
  on(event: string, listener: (payload: Record<string, unknown>) => void): unknown;
  off(event: string, listener: (payload: Record<string, unknown>) => void): unknown;
  emit(event: string, payload: unknown): boolean;
}

/**
 * discord.js's simple sharding strategy (shards in this process), with two changes:
 *
 * - `connect()` waits for each shard's first session however many attempts it takes. discord.js
 *   rejects the login on the first failed attempt while the shard goes on reconnecting (every
 *   500 ms), which left a bot that answered messages but never became ready. Only a close it does
 *   not recover from (4004 token refused, 4010–4014) or `destroy()` ends the wait.
 * - A dispatch discord.js throws on reaches `onDispatchError` instead of becoming an unhandled
 *   rejection, so the bot can still answer that interaction.
 */
export class PatientShardingStrategy implements IShardingStrategy {
  private readonly shards = new Collection<number, WebSocketShard>();
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(
    private readonly manager: WebSocketManager,
    private readonly hooks: GatewayHooks,
  ) {}

  async spawn(shardIds: number[]): Promise<void> {
    const options = await managerToFetchingStrategyOptions(this.manager);
    for (const shardId of shardIds) {
      const shard = new WebSocketShard(new SimpleContextFetchingStrategy(this.manager, options), shardId);
      for (const event of Object.values(WebSocketShardEvents)) {
        (shard as unknown as LooseEmitter).on(event, (payload) => this.relay(event, shardId, payload));
      }
      this.shards.set(shardId, shard);
    }
  }

  private relay(event: string, shardId: number, payload: Record<string, unknown>): void {
    if (event === WebSocketShardEvents.Closed) this.hooks.onClose(shardId, Number(payload.code));
    try {
      (this.manager as unknown as LooseEmitter).emit(event, { ...payload, shardId });
    } catch (error) {
      if (event !== WebSocketShardEvents.Dispatch) throw error;
      this.hooks.onDispatchError(shardId, (payload.data ?? {}) as { t?: unknown; d?: unknown }, error);
    }
  }

  async connect(): Promise<void> {
    await Promise.all(this.shards.map((shard) => this.firstSession(shard)));
  }

  private firstSession(shard: WebSocketShard): Promise<void> {
    const emitter = shard as unknown as LooseEmitter;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        emitter.off(WebSocketShardEvents.Ready, onSession);
        emitter.off(WebSocketShardEvents.Resumed, onSession);
        emitter.off(WebSocketShardEvents.Closed, onClosed);
        this.waiting.delete(settle);
        if (error) reject(error);
        else resolve();
      };
      const onSession = (): void => settle();
      const onClosed = (payload: Record<string, unknown>): void => {
        const code = Number(payload.code);
        if (FATAL_CLOSE_CODES.has(code)) settle(new GatewayClosedError(code));
      };
      emitter.on(WebSocketShardEvents.Ready, onSession);
      emitter.on(WebSocketShardEvents.Resumed, onSession);
      emitter.on(WebSocketShardEvents.Closed, onClosed);
      this.waiting.add(settle);
      // Rejects on the first failed attempt, though the shard keeps reconnecting: its session settles the wait.
      shard.connect().catch(() => undefined);
    });
  }

  async destroy(options?: Omit<WebSocketShardDestroyOptions, 'recover'>): Promise<void> {
    for (const settle of [...this.waiting]) settle(new Error('the gateway connection was stopped before its first session'));
    await Promise.all(this.shards.map((shard) => shard.destroy(options)));
    this.shards.clear();
  }

  async send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    const shard = this.shards.get(shardId);
    if (!shard) throw new RangeError(`Shard ${shardId} not found`);
    await shard.send(payload);
  }

  fetchStatus(): ReturnType<IShardingStrategy['fetchStatus']> {
    // The same class as @discordjs/ws's own Collection, of another copy of the package.
    return this.shards.mapValues((shard): WebSocketShardStatus => shard.status) as unknown as ReturnType<IShardingStrategy['fetchStatus']>;
  }
}
