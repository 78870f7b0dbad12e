import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every setting the bot reads, each written once: its variable, its rule and default, and its line in
 * README's settings table and `.env.example` (`.describe`, both written by `npm run docs:settings`). A new
 * setting also goes into `docker-compose.yml`: test/deploy/settings-consistency.test.ts checks they agree.
 * The order is the table's order and the order in which bad values are reported.
 */
export const SETTINGS = z.object({
  NEMO_API_URL: httpUrl().default('https://mega-api-prod.nemovideo.ai').describe('NemoVideo API base'),
  NEMO_WEB_URL: httpUrl().default('https://nemovideo.com').describe('links shown to users'),
  NEMO_TOKEN: token().optional().describe('operator token shared by all users; unset: each user gets an anonymous token'),
  REDIS_URL: url(['redis:', 'rediss:'])
    .default('redis://127.0.0.1:6379')
    .describe(
      'sessions and queues (unset: the local default if it answers, else a private `redis-server` the bot starts); with sentinels or cluster nodes only its user, password and `rediss:` (TLS) are used',
    ),
  REDIS_SENTINELS: hostPortList()
    .describe('Sentinel failover: the sentinels as `host:port, host:port`; the master is asked of them by `REDIS_SENTINEL_NAME`'),
  REDIS_SENTINEL_NAME: matching(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ . or -')
    .default('mymaster')
    .describe('the master\'s name the sentinels watch'),
  REDIS_SENTINEL_PASSWORD: token().optional().describe('the sentinels\' own password, when they have one (the data nodes\' comes from `REDIS_URL`)'),
  REDIS_CLUSTER_NODES: hostPortList().describe(
    'Redis Cluster: some of its nodes as `host:port, host:port` (the rest are discovered); keys are then hash-tagged per person',
  ),
  TELEGRAM_BOT_TOKEN: matching(/^\d+:[A-Za-z0-9_-]+$/, 'must look like <bot id>:<secret> as BotFather gives it')
    .optional()
    .describe('enables Telegram'),
  TELEGRAM_API_ROOT: httpUrl().default('https://api.telegram.org').describe('a self-hosted Bot API server, or a test server'),
  TELEGRAM_WEBHOOK_URL: httpUrl()
    .optional()
    .describe('webhook mode instead of long polling: the public HTTPS URL Telegram calls (needs `TELEGRAM_WEBHOOK_SECRET`)'),
  TELEGRAM_WEBHOOK_SECRET: matching(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 characters of A-Z, a-z, 0-9, _ or -')
    .optional()
    .describe('the secret Telegram sends with each webhook call; required with `TELEGRAM_WEBHOOK_URL`'),
  TELEGRAM_MAX_UPLOAD_MB: positiveInt().default(50).describe('upload limit (raise it with a self-hosted Bot API server)'),
  DISCORD_TOKEN: token().optional().describe('enables Discord'),
  DISCORD_API_URL: httpUrl().default('https://discord.com/api').describe('REST base, for a test server'),
  DISCORD_GUILD_ID: matching(/^\d+$/, 'must be a numeric Discord id')
    .optional()
    .describe('register slash commands on this guild instead of globally'),
  DISCORD_MAX_UPLOAD_MB: positiveInt().default(10).describe('upload limit when an interaction does not say'),
  DISCORD_FREE_TEXT_IN_GUILDS: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .default(false)
    .describe(
      '`true`: answer every message in guild channels (needs the privileged Message Content intent); otherwise mentions, replies, DMs and slash commands',
    ),
  DISCORD_SHARD_COUNT: z
    .union([z.literal('auto'), positiveInt()], { error: 'must be auto or a positive integer' })
    .optional()
    .describe('gateway sharding for large bots: shards in all (`auto` asks Discord); unset: one connection'),
  DISCORD_SHARD_IDS: matching(/^\d+(\s*,\s*\d+)*$/, 'must be a comma-separated list of shard numbers, e.g. 0,1')
    .transform((value) => value.split(',').map((id) => Number(id.trim())))
    .pipe(z.array(z.number()))
    .default([])
    .readonly()
    .describe('the shards this process runs (`0,1`) when bot replicas split them; empty: all'),
  RENDER_POLL_INTERVAL_MS: positiveInt().default(30_000).describe('between render polls'),
  RENDER_MAX_POLLS: positiveInt().default(10).describe('polls before a render is reported as failed'),
  VIDEO_FIT_CONCURRENCY: wholeNumber(16)
    .default(1)
    .describe(
      'ffmpeg encodes at once in each worker process, fitting a render larger than its chat\'s upload limit (H.264, down to 480p); 0: no fitting, such a render goes as a link',
    ),
  VIDEO_FIT_TIMEOUT_MS: positiveInt().default(600_000).describe('time limit of one fit; past it ffmpeg is killed and the link goes instead'),
  VIDEO_FIT_MAX_INPUT_MB: positiveInt()
    .default(2000)
    .describe('a render larger than this is not downloaded to fit it or to read its size and poster: the link goes instead'),
  STILL_WORKING_MS: positiveInt().default(120_000).describe('"Still working…" notice while a turn is silent'),
  TURN_IDLE_TIMEOUT_MS: positiveInt().default(600_000).describe('keep-alives only this long: the turn is treated as broken'),
  RECOVERY_FIRST_WAIT_MS: positiveInt().default(30_000).describe('recovery after a broken turn: wait before the first project-state check'),
  RECOVERY_WAIT_MS: positiveInt().default(60_000).describe('recovery after a broken turn: wait between later checks'),
  RECOVERY_MAX_CHECKS: positiveInt().default(5).describe('recovery after a broken turn: checks before giving up'),
  RATE_LIMIT_RETRY_MS: positiveInt().default(30_000).describe('wait after a 429 from NemoVideo, then retry once'),
  NEMO_REQUEST_TIMEOUT_MS: positiveInt().default(30_000).describe('timeout of ordinary NemoVideo calls (not chat turns)'),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info')
    .describe('pino level'),
  // 0 is accepted on purpose: tests start the server on a free port.
  HTTP_PORT: port().default(8080).describe('health, readiness and metrics server (and the Telegram webhook)'),
  OPS_HTTP_PORT: port()
    .optional()
    .describe('a separate port for `/metrics` and `/readyz`; set it when `HTTP_PORT` is open to the internet for a webhook'),
  ADMIN_PASSWORD: matching(/^[\x20-\x7e]{12,256}$/, 'must be 12-256 printable ASCII characters')
    .optional()
    .describe(
      'turns on the operator pages `/admin` (overview) and `/admin/queues` (the render queue) where `/metrics` answers, behind HTTP Basic login as `admin` with this password; unset: the pages are off',
    ),
  VIDEO_DIR: z.string().default('./videos').describe('where the terminal chat saves finished videos'),
  SESSION_TTL_DAYS: positiveInt()
    .default(30)
    .describe('a project untouched this long is forgotten, and so is a person\'s identity (client id, anonymous token) unused this long'),
  DOCUMENT_MAX_CHARS: positiveInt().default(12_000).describe('text taken from one document'),
  ALLOWED_USERS: idList().describe('platform-prefixed user ids allowed to use the bot, e.g. `telegram:123, discord:456`; empty: everyone'),
  ALLOWED_CHATS: idList().describe(
    'platform-prefixed chats whose members may use it, e.g. `telegram:-1001234`, `discord:guild:456`; empty: every chat',
  ),
  ADMIN_USERS: idList().describe('platform-prefixed user ids that may use `/stats` (and are always allowed)'),
  USER_DAILY_TURNS: positiveInt()
    .optional()
    .describe('chat turns one person may start per UTC day while people share the operator\'s `NEMO_TOKEN`; unset: unlimited'),
  USER_DAILY_RENDERS: positiveInt()
    .optional()
    .describe('exports one person may start per UTC day while people share the operator\'s `NEMO_TOKEN`; unset: unlimited'),
  USER_DAILY_UPLOADS: positiveInt()
    .optional()
    .describe('files and media links one person may upload per UTC day while people share `NEMO_TOKEN`; unset: unlimited'),
  MAX_QUEUED_TURNS: positiveInt(100)
    .default(3)
    .describe(
      'messages one person may have waiting in a chat behind the running turn; more get one notice, then silence until the queue drains',
    ),
  USER_MESSAGES_PER_MINUTE: positiveInt()
    .default(20)
    .describe(
      'messages one person may send per minute (all chats together); more get one notice, then silence until the minute is over',
    ),
  MAX_LINKS_PER_MESSAGE: positiveInt(100)
    .default(5)
    .describe('links to media files one message may ask to upload; more are refused with the limit named'),
  TOKEN_ENCRYPTION_KEY: encryptionKey()
    .optional()
    .describe(
      '32 bytes, base64 (`openssl rand -base64 32`) or 64 hex characters: every NemoVideo token the bot stores (anonymous and `/login`), inbox entries and Discord interaction tokens are sealed with it (AES-256-GCM); unset: tokens are stored in clear (one warning at start) and `/login` is off. The terminal chat makes its own in `./.data/token-key`. Keep it: a new key loses the `/login` tokens (anonymous ones are fetched again)',
    ),
  SHUTDOWN_TIMEOUT_MS: positiveInt()
    .default(30_000)
    .describe('on SIGTERM/SIGINT, how long in-flight work may take to finish or be handed back'),
  REDIS_PREFIX: matching(/^[A-Za-z0-9_:.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ : . or -')
    .default('nvb')
    .describe('prefix of every Redis key, so that several bots can share one Redis'),
});

type EnvName = keyof typeof SETTINGS.shape;
type Settings = z.output<typeof SETTINGS>;

/** `TELEGRAM_BOT_TOKEN` → `telegramBotToken`: a setting's key in `Config` is its variable in camelCase. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}` : Lowercase<S>;

/** Every setting, read once from the environment, under its variable's camelCase name. */
export type Config = {
  readonly [N in keyof Settings as CamelCase<N>]: Settings[N];
} & {
  /** Whether REDIS_URL was set: when it was not, start uses the default if it answers, else starts a private Redis. */
  readonly redisUrlFromEnv: boolean;
};

/** Every variable the bot reads: deployment files and the README name exactly these. */
export const ENV_VARIABLES: readonly string[] = Object.keys(SETTINGS.shape);

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Variables whose value is never repeated in an error: tokens, and URLs that may embed a password. */
const SECRET_VARIABLES: ReadonlySet<EnvName> = new Set<EnvName>([
  'NEMO_TOKEN',
  'TELEGRAM_BOT_TOKEN',
  'DISCORD_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'REDIS_URL',
  'REDIS_SENTINEL_PASSWORD',
  'TOKEN_ENCRYPTION_KEY',
  'ADMIN_PASSWORD',
]);

/** Reads and validates every setting; throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of Object.keys(SETTINGS.shape) as EnvName[]) {
    // An empty value (`FOO=` in a compose file) means "use the default", not "invalid".
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }

  // A webhook without a secret would take updates from anyone who finds the URL.
  if (input.TELEGRAM_WEBHOOK_URL !== undefined && input.TELEGRAM_WEBHOOK_SECRET === undefined) {
    throw new ConfigError('TELEGRAM_WEBHOOK_SECRET', 'Invalid setting TELEGRAM_WEBHOOK_SECRET: must be set when TELEGRAM_WEBHOOK_URL is set');
  }
  // One topology: a Sentinel master and cluster nodes at once is a copy-paste accident.
  if (input.REDIS_SENTINELS !== undefined && input.REDIS_CLUSTER_NODES !== undefined) {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'Invalid setting REDIS_CLUSTER_NODES: set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both');
  }
  const result = SETTINGS.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const expected = (issue?.message ?? 'is invalid').replace(/\s+/g, ' ');
    const raw = input[variable as EnvName];
    const shown = raw === undefined || SECRET_VARIABLES.has(variable as EnvName) ? '' : ` (got ${quote(raw)})`;
    throw new ConfigError(variable, `Invalid setting ${variable}: ${expected}${shown}`);
  }

  // Every key is present, an unset optional one as undefined, as the type says.
  const config: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS.shape) as EnvName[]) config[camelCase(name)] = result.data[name];
  config.redisUrlFromEnv = input.REDIS_URL !== undefined;
  return Object.freeze(config) as Config;
}

/** The runtime twin of the `CamelCase` type. */
export function camelCase(variable: string): string {
  return variable.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** JSON-quoted and shortened, so that the error stays one line. */
function quote(value: string): string {
  const short = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(short);
}

// The rules the settings are made of. Each issue's message is what follows "Invalid setting NAME: ".

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

function wholeNumber(max: number) {
  const expected = `must be a whole number from 0 to ${max}`;
  return z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n > max) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return n;
  });
}

function port() {
  const expected = 'must be a port number from 0 to 65535';
  return matching(/^\d+$/, expected)
    .transform(Number)
    .pipe(z.number().max(65_535, { error: expected }));
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

function httpUrl() {
  return url(['http:', 'https:']);
}

function matching(pattern: RegExp, expected: string) {
  return z.string().regex(pattern, { error: expected });
}

/** `host:port, host:port` (an IPv6 host in brackets): the nodes of a Sentinel or Cluster topology. */
export interface HostPort {
  host: string;
  port: number;
}

function hostPortList() {
  const expected = 'must be a comma-separated list of host:port, e.g. 10.0.0.1:26379, 10.0.0.2:26379';
  return z
    .string()
    .transform((value, ctx): HostPort[] => {
      const nodes: HostPort[] = [];
      for (const item of value.split(/[\s,]+/).filter(Boolean)) {
        const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
        const port = Number(match?.[2]);
        if (!match?.[1] || port < 1 || port > 65_535) {
          ctx.addIssue({ code: 'custom', message: expected });
          return z.NEVER;
        }
        nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
      }
      return nodes;
    })
    .default([])
    .readonly();
}

// Tokens are opaque, but one with a space or a control character is a copy-paste accident.
function token() {
  return matching(/^[\x21-\x7e]+$/, 'must be a single token without spaces');
}

// `telegram:123, discord:guild:456`: a platform, then the id (a Discord guild is `discord:guild:<id>`).
function idList() {
  return z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(console|telegram|discord):(guild:)?[\w-]+$/, { error: 'must be a comma-separated list like telegram:123, discord:guild:456' })))
    .default([])
    .readonly();
}

// 32 random bytes, as 64 hex characters or base64 (`openssl rand -base64 32`).
function encryptionKey() {
  const expected = 'must be 32 bytes as 64 hex characters or base64 (openssl rand -base64 32)';
  return z.string().transform((value, ctx): Buffer => {
    const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
    if (key.length !== 32) {
      ctx.addIssue({ code: 'custom', message: expected });
      return z.NEVER;
    }
    return key;
  });
}
