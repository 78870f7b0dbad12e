import { z } from 'zod';

/** Every setting, read once from the environment (see the settings table in README.md). */
export interface Config {
  readonly nemoApiUrl: string;
  readonly nemoWebUrl: string;
  readonly nemoToken?: string;
  readonly redisUrl: string;
  /** Whether REDIS_URL was set explicitly: the terminal mode falls back to memory only when it was not. */
  readonly redisUrlFromEnv: boolean;
  readonly telegramBotToken?: string;
  readonly telegramApiRoot: string;
  readonly telegramWebhookUrl?: string;
  readonly telegramWebhookSecret?: string;
  readonly telegramMaxUploadMb: number;
  readonly discordToken?: string;
  readonly discordApiUrl: string;
  readonly discordGuildId?: string;
  readonly discordMaxUploadMb: number;
  /** Read every message in guild channels (needs the privileged MESSAGE_CONTENT intent), not only mentions. */
  readonly discordFreeTextInGuilds: boolean;
  /** Gateway shards in all (`auto`: Discord's recommendation); unset: one connection. */
  readonly discordShardCount?: number | 'auto';
  /** The shards this process runs, when bot replicas split them. */
  readonly discordShardIds: readonly number[];
  readonly renderPollIntervalMs: number;
  readonly renderMaxPolls: number;
  readonly stillWorkingMs: number;
  readonly turnIdleTimeoutMs: number;
  readonly recoveryFirstWaitMs: number;
  readonly recoveryWaitMs: number;
  readonly recoveryMaxChecks: number;
  readonly rateLimitRetryMs: number;
  readonly nemoRequestTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly httpPort: number;
  /** A separate port for `/metrics` and `/readyz`; unset: they share `httpPort`. */
  readonly opsHttpPort: number | undefined;
  readonly videoDir: string;
  readonly sessionTtlDays: number;
  readonly documentMaxChars: number;
  /** Platform-prefixed user ids (`telegram:123`); empty: everyone. */
  readonly allowedUsers: readonly string[];
  /** Platform-prefixed chat ids (`telegram:-100…`, `discord:guild:456`); empty: every chat. */
  readonly allowedChats: readonly string[];
  readonly adminUsers: readonly string[];
  readonly userDailyTurns?: number;
  readonly userDailyRenders?: number;
  /** Files and links one person may upload per UTC day on the operator's token; unset: no limit. */
  readonly userDailyUploads?: number;
  /** Turns one session may have waiting behind the running one; more are refused with one notice. */
  readonly maxQueuedTurns: number;
  /** Messages one person may send per minute (all chats together); more are refused with one notice. */
  readonly userMessagesPerMinute: number;
  /** Media links one message may ask to upload. */
  readonly maxLinksPerMessage: number;
  /** 32 bytes for AES-256-GCM: personal tokens are stored encrypted with it. */
  readonly tokenEncryptionKey?: Buffer;
  readonly shutdownTimeoutMs: number;
  /** Prefix of every Redis key, so that several bots can share one Redis. */
  readonly redisPrefix: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Variables whose value is never repeated in an error: tokens, and URLs that may embed a password. */
const SECRET_VARIABLES = new Set([
  'NEMO_TOKEN',
  'TELEGRAM_BOT_TOKEN',
  'DISCORD_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'REDIS_URL',
  'TOKEN_ENCRYPTION_KEY',
]);

function positiveInt(max = Number.MAX_SAFE_INTEGER) {
  const expected = `must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}`;
  return z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return n;
  });
}

function url(protocols: readonly string[]) {
  const expected = `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL`;
  return z.string().transform((value, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    if (!protocols.includes(parsed.protocol)) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    // Callers append paths (`${base}/api/…`): a trailing slash would double it.
    return value.replace(/\/+$/, '');
  });
}

const httpUrl = () => url(['http:', 'https:']);

function matching(pattern: RegExp, expected: string) {
  return z.string().regex(pattern, { error: expected });
}

// Tokens are opaque, but one with a space or a control character is a copy-paste accident.
const token = () => matching(/^[\x21-\x7e]+$/, 'must be a single token without spaces');

// `telegram:123, discord:guild:456`: a platform, then the id (a Discord guild is `discord:guild:<id>`).
function idList() {
  return z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(console|telegram|discord):(guild:)?[\w-]+$/, { error: 'must be a comma-separated list like telegram:123, discord:guild:456' })))
    .default([]);
}

// 32 random bytes, as 64 hex characters or base64 (`openssl rand -base64 32`).
function encryptionKey() {
  const expected = 'must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)';
  return z.string().transform((value, ctx) => {
    const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    if (key.length !== 32) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return key;
  });
}

const EnvSchema = z.object({
  NEMO_API_URL: httpUrl().default('https://mega-api-prod.nemovideo.ai'),
  NEMO_WEB_URL: httpUrl().default('https://nemovideo.com'),
  NEMO_TOKEN: token().optional(),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  TELEGRAM_BOT_TOKEN: matching(/^\d+:[A-Za-z0-9_-]+$/, 'must look like <bot id>:<secret> as BotFather gives it').optional(),
  TELEGRAM_API_ROOT: httpUrl().default('https://api.telegram.org'),
  TELEGRAM_WEBHOOK_URL: httpUrl().optional(),
  TELEGRAM_WEBHOOK_SECRET: matching(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 characters of A-Z, a-z, 0-9, _ or -').optional(),
  TELEGRAM_MAX_UPLOAD_MB: positiveInt().default(50),
  DISCORD_TOKEN: token().optional(),
  DISCORD_API_URL: httpUrl().default('https://discord.com/api'),
  DISCORD_GUILD_ID: matching(/^\d+$/, 'must be a numeric Discord id').optional(),
  DISCORD_MAX_UPLOAD_MB: positiveInt().default(10),
  DISCORD_FREE_TEXT_IN_GUILDS: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  DISCORD_SHARD_COUNT: z.union([z.literal('auto'), positiveInt()], { error: 'must be auto or a positive integer' }).optional(),
  DISCORD_SHARD_IDS: matching(/^\d+(\s*,\s*\d+)*$/, 'must be a comma-separated list of shard numbers, e.g. 0,1')
    .transform((value) => value.split(',').map((id) => Number(id.trim())))
    .optional(),
  RENDER_POLL_INTERVAL_MS: positiveInt().default(30_000),
  RENDER_MAX_POLLS: positiveInt().default(10),
  STILL_WORKING_MS: positiveInt().default(120_000),
  TURN_IDLE_TIMEOUT_MS: positiveInt().default(600_000),
  RECOVERY_FIRST_WAIT_MS: positiveInt().default(30_000),
  RECOVERY_WAIT_MS: positiveInt().default(60_000),
  RECOVERY_MAX_CHECKS: positiveInt().default(5),
  RATE_LIMIT_RETRY_MS: positiveInt().default(30_000),
  NEMO_REQUEST_TIMEOUT_MS: positiveInt().default(30_000),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  // 0 is accepted on purpose: tests start the server on a free port.
  HTTP_PORT: matching(/^\d+$/, 'must be a port number from 0 to 65535')
    .transform(Number)
    .pipe(z.number().max(65_535, { error: 'must be a port number from 0 to 65535' }))
    .default(8080),
  OPS_HTTP_PORT: matching(/^\d+$/, 'must be a port number from 0 to 65535')
    .transform(Number)
    .pipe(z.number().max(65_535, { error: 'must be a port number from 0 to 65535' }))
    .optional(),
  VIDEO_DIR: z.string().default('./videos'),
  SESSION_TTL_DAYS: positiveInt().default(30),
  DOCUMENT_MAX_CHARS: positiveInt().default(12_000),
  ALLOWED_USERS: idList(),
  ALLOWED_CHATS: idList(),
  ADMIN_USERS: idList(),
  USER_DAILY_TURNS: positiveInt().optional(),
  USER_DAILY_RENDERS: positiveInt().optional(),
  USER_DAILY_UPLOADS: positiveInt().optional(),
  MAX_QUEUED_TURNS: positiveInt(100).default(3),
  USER_MESSAGES_PER_MINUTE: positiveInt().default(20),
  MAX_LINKS_PER_MESSAGE: positiveInt(100).default(5),
  TOKEN_ENCRYPTION_KEY: encryptionKey().optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt().default(30_000),
  REDIS_PREFIX: matching(/^[A-Za-z0-9_:.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ : . or -').default('nvb'),
});

type EnvName = keyof typeof EnvSchema.shape;

/** Every variable the bot reads: deployment files and the README name exactly these. */
export const ENV_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

/** Reads and validates every setting; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of Object.keys(EnvSchema.shape) as EnvName[]) {
    // An empty value (`FOO=` in a compose file) means "use the default", not "invalid".
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }

  // A webhook without a secret would take updates from anyone who finds the URL.
  if (input.TELEGRAM_WEBHOOK_URL !== undefined && input.TELEGRAM_WEBHOOK_SECRET === undefined) {
    throw new ConfigError('TELEGRAM_WEBHOOK_SECRET', 'Invalid setting TELEGRAM_WEBHOOK_SECRET: must be set when TELEGRAM_WEBHOOK_URL is set');
  }
  const result = EnvSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const expected = (issue?.message ?? 'is invalid').replace(/\s+/g, ' ');
    const raw = input[variable as EnvName];
    const shown = raw === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${quote(raw)})`;
    throw new ConfigError(variable, `Invalid setting ${variable}: ${expected}${shown}`);
  }

  const e = result.data;
  return Object.freeze({
    nemoApiUrl: e.NEMO_API_URL,
    nemoWebUrl: e.NEMO_WEB_URL,
    nemoToken: e.NEMO_TOKEN,
    redisUrl: e.REDIS_URL,
    redisUrlFromEnv: input.REDIS_URL !== undefined,
    telegramBotToken: e.TELEGRAM_BOT_TOKEN,
    telegramApiRoot: e.TELEGRAM_API_ROOT,
    telegramWebhookUrl: e.TELEGRAM_WEBHOOK_URL,
    telegramWebhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
    telegramMaxUploadMb: e.TELEGRAM_MAX_UPLOAD_MB,
    discordToken: e.DISCORD_TOKEN,
    discordApiUrl: e.DISCORD_API_URL,
    discordGuildId: e.DISCORD_GUILD_ID,
    discordMaxUploadMb: e.DISCORD_MAX_UPLOAD_MB,
    discordFreeTextInGuilds: e.DISCORD_FREE_TEXT_IN_GUILDS === 'true',
    discordShardCount: e.DISCORD_SHARD_COUNT,
    discordShardIds: e.DISCORD_SHARD_IDS ?? [],
    renderPollIntervalMs: e.RENDER_POLL_INTERVAL_MS,
    renderMaxPolls: e.RENDER_MAX_POLLS,
    stillWorkingMs: e.STILL_WORKING_MS,
    turnIdleTimeoutMs: e.TURN_IDLE_TIMEOUT_MS,
    recoveryFirstWaitMs: e.RECOVERY_FIRST_WAIT_MS,
    recoveryWaitMs: e.RECOVERY_WAIT_MS,
    recoveryMaxChecks: e.RECOVERY_MAX_CHECKS,
    rateLimitRetryMs: e.RATE_LIMIT_RETRY_MS,
    nemoRequestTimeoutMs: e.NEMO_REQUEST_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    httpPort: e.HTTP_PORT,
    opsHttpPort: e.OPS_HTTP_PORT,
    videoDir: e.VIDEO_DIR,
    sessionTtlDays: e.SESSION_TTL_DAYS,
    documentMaxChars: e.DOCUMENT_MAX_CHARS,
    allowedUsers: e.ALLOWED_USERS,
    allowedChats: e.ALLOWED_CHATS,
    adminUsers: e.ADMIN_USERS,
    userDailyTurns: e.USER_DAILY_TURNS,
    userDailyRenders: e.USER_DAILY_RENDERS,
    userDailyUploads: e.USER_DAILY_UPLOADS,
    maxQueuedTurns: e.MAX_QUEUED_TURNS,
    userMessagesPerMinute: e.USER_MESSAGES_PER_MINUTE,
    maxLinksPerMessage: e.MAX_LINKS_PER_MESSAGE,
    tokenEncryptionKey: e.TOKEN_ENCRYPTION_KEY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    redisPrefix: e.REDIS_PREFIX,
  });
}

/** JSON-quoted and shortened, so that the error stays one line. */
function quote(value: string): string {
  const short = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(short);
}
