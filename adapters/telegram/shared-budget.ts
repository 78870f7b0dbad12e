import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RedisKeys } from '../../src/core/redis-keys.js';
import { describeError } from '../../src/lib/describe-error.js';
import { POST_BUDGET } from '../../src/lib/lua/post-budget.js';
import { runScript } from '../../src/lib/lua/script.js';
import { LocalBudget } from './local-budget.js';
import { isGroupChat, TELEGRAM_PACING, type PacingOptions, type PostBudget, type PostDecision } from './pacing.js';

// A decision slower than this is taken locally: posting must not stall behind a sick Redis.
const DEFAULT_TIMEOUT_MS = 500;
const FALLBACK_LOG_EVERY_MS = 60_000;
const GONE = new Set(['reconnecting', 'close', 'end']);

const answerSchema = z.tuple([z.number().int().nonnegative(), z.enum(['go', 'chat', 'global'])]);

export interface SharedBudgetOptions {
  redis: Redis;
  keys: RedisKeys;
  /** The bot token's id (the part before `:`): every process posting with the token shares its budget. */
  botId: string;
  pacing?: Partial<PacingOptions>;
  logger?: Pick<Logger, 'warn'>;
  timeoutMs?: number;
}

/** The numeric id a bot token starts with: public (it is the bot's user id), unlike the rest. */
export function botIdOf(token: string): string {
  return token.split(':', 1)[0] ?? '';
}

/**
 * A bot token's budget in Redis, one script call per decision, so that bot replicas and render
 * workers together stay within Telegram's limits. When Redis is away or slow, the decision is
 * this process's own (`LocalBudget`): posting goes on, paced as one process would be.
 */
export class SharedBudget implements PostBudget {
  private readonly pacing: PacingOptions;
  private readonly local: LocalBudget;
  private readonly member = randomUUID().slice(0, 12);
  private counter = 0;
  private quietUntil = 0;

  constructor(private readonly options: SharedBudgetOptions) {
    this.pacing = { ...TELEGRAM_PACING, ...options.pacing };
    this.local = new LocalBudget(this.pacing);
  }

  async take(chatId: string): Promise<PostDecision> {
    const { redis } = this.options;
    // Connecting at start, the call waits in the client's queue (bounded by the timeout); lost, it is not sent.
    if (GONE.has(redis.status)) return this.fallBack(chatId, new Error(`redis is ${redis.status}`));
    try {
      return await this.ask(chatId);
    } catch (error) {
      return this.fallBack(chatId, error);
    }
  }

  private async ask(chatId: string): Promise<PostDecision> {
    const { keys, botId, redis } = this.options;
    const p = this.pacing;
    const group = isGroupChat(chatId);
    const call = runScript(
      redis,
      POST_BUDGET,
      [keys.telegramPaceToken(botId), keys.telegramPaceChat(botId, chatId), keys.telegramPaceGroup(botId, chatId), keys.telegramPaceTokenSpacing(botId)],
      [
        p.globalLimit,
        p.globalWindowMs,
        p.perChatIntervalMs,
        p.perChatBurst,
        group ? p.groupLimit : 0,
        p.groupWindowMs,
        `${this.member}:${(this.counter += 1)}`,
        p.globalBurst,
      ],
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from redis within ${this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)), this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    });
    // A late answer still counts its post in Redis: the shared count errs on the side of fewer posts.
    call.catch(() => undefined);
    try {
      const [waitMs, scope] = answerSchema.parse(await Promise.race([call, late]));
      return { waitMs, scope };
    } finally {
      clearTimeout(timer);
    }
  }

  private fallBack(chatId: string, error: unknown): Promise<PostDecision> {
    const now = Date.now();
    if (now >= this.quietUntil) {
      this.quietUntil = now + FALLBACK_LOG_EVERY_MS;
      this.options.logger?.warn({ err: describeError(error) }, 'telegram pacing: the shared budget in redis is unreachable, pacing this process alone (logged once a minute)');
    }
    return this.local.take(chatId);
  }
}
