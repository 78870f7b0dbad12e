import { describe, expect, it } from 'vitest';
import { camelCase, ConfigError, ENV_VARIABLES, loadConfig, SETTINGS } from '../src/config.js';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('when nothing is set, then every setting has the documented default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nemoApiUrl: 'https://mega-api-prod.nemovideo.ai',
      nemoWebUrl: 'https://nemovideo.com',
      redisUrl: 'redis://127.0.0.1:6379',
      redisUrlFromEnv: false,
      telegramApiRoot: 'https://api.telegram.org',
      telegramMaxUploadMb: 50,
      discordApiUrl: 'https://discord.com/api',
      discordMaxUploadMb: 10,
      renderPollIntervalMs: 30_000,
      renderMaxPolls: 10,
      stillWorkingMs: 120_000,
      turnIdleTimeoutMs: 600_000,
      recoveryFirstWaitMs: 30_000,
      recoveryWaitMs: 60_000,
      recoveryMaxChecks: 5,
      rateLimitRetryMs: 30_000,
      nemoRequestTimeoutMs: 30_000,
      logLevel: 'info',
      httpPort: 8080,
      videoDir: './videos',
      sessionTtlDays: 30,
      documentMaxChars: 12_000,
    });
    expect(config.nemoToken).toBeUndefined();
    expect(config.telegramBotToken).toBeUndefined();
    expect(config.discordToken).toBeUndefined();
    expect(config.telegramWebhookUrl).toBeUndefined();
    expect(config.discordGuildId).toBeUndefined();
  });

  it('when values are set, then they override the defaults with the right types', () => {
    const config = loadConfig({
      NEMO_API_URL: 'http://127.0.0.1:4010/',
      NEMO_TOKEN: 'nmv_usr_operator',
      REDIS_URL: 'rediss://cache.example:6380/2',
      TELEGRAM_BOT_TOKEN: '123456:ABC-def_ghi',
      TELEGRAM_WEBHOOK_URL: 'https://bot.example/telegram',
      TELEGRAM_WEBHOOK_SECRET: 's3cr3t_hook',
      DISCORD_TOKEN: 'discord.token.value',
      DISCORD_GUILD_ID: '112233445566778899',
      RENDER_POLL_INTERVAL_MS: '5',
      RECOVERY_MAX_CHECKS: '2',
      LOG_LEVEL: 'debug',
      HTTP_PORT: '0',
      VIDEO_DIR: '/tmp/videos',
    });
    expect(config).toMatchObject({
      nemoApiUrl: 'http://127.0.0.1:4010',
      nemoToken: 'nmv_usr_operator',
      redisUrl: 'rediss://cache.example:6380/2',
      redisUrlFromEnv: true,
      telegramBotToken: '123456:ABC-def_ghi',
      telegramWebhookUrl: 'https://bot.example/telegram',
      telegramWebhookSecret: 's3cr3t_hook',
      discordToken: 'discord.token.value',
      discordGuildId: '112233445566778899',
      renderPollIntervalMs: 5,
      recoveryMaxChecks: 2,
      logLevel: 'debug',
      httpPort: 0,
      videoDir: '/tmp/videos',
    });
  });

  it('when a value is empty or blank, then it counts as unset', () => {
    const config = loadConfig({ NEMO_TOKEN: '', REDIS_URL: '  ', RENDER_MAX_POLLS: '' });
    expect(config.nemoToken).toBeUndefined();
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.redisUrlFromEnv).toBe(false);
    expect(config.renderMaxPolls).toBe(10);
  });

  it('when the config is loaded, then it cannot be changed', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.allowedUsers)).toBe(true);
  });

  it('when the config is loaded, then it holds every variable under its camelCase name, unset ones as undefined, and redisUrlFromEnv', () => {
    const config = loadConfig({});
    expect(Object.keys(config).sort()).toEqual([...ENV_VARIABLES.map(camelCase), 'redisUrlFromEnv'].sort());
    expect([camelCase('DISCORD_FREE_TEXT_IN_GUILDS'), camelCase('OPS_HTTP_PORT'), camelCase('TOKEN_ENCRYPTION_KEY')]).toEqual([
      'discordFreeTextInGuilds',
      'opsHttpPort',
      'tokenEncryptionKey',
    ]);
    expect('nemoToken' in config && config.nemoToken === undefined).toBe(true);
  });

  it('when the settings are declared, then each has a README line', () => {
    const missing = Object.entries(SETTINGS.shape).filter(([, schema]) => !schema.description?.trim());
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('when derived values are set, then they have their types: flags, shard lists, ports, the encryption key', () => {
    const key = Buffer.alloc(32, 7);
    const config = loadConfig({
      DISCORD_FREE_TEXT_IN_GUILDS: 'true',
      DISCORD_SHARD_COUNT: '4',
      DISCORD_SHARD_IDS: '0, 2',
      OPS_HTTP_PORT: '9090',
      ALLOWED_USERS: 'telegram:1, discord:2',
      TOKEN_ENCRYPTION_KEY: key.toString('base64'),
    });
    expect(config).toMatchObject({
      discordFreeTextInGuilds: true,
      discordShardCount: 4,
      discordShardIds: [0, 2],
      opsHttpPort: 9090,
      allowedUsers: ['telegram:1', 'discord:2'],
    });
    expect(config.tokenEncryptionKey?.equals(key)).toBe(true);
    expect(loadConfig({ DISCORD_SHARD_COUNT: 'auto' })).toMatchObject({ discordShardCount: 'auto', discordShardIds: [], discordFreeTextInGuilds: false });
  });

  it.each([
    ['RENDER_POLL_INTERVAL_MS', 'abc', 'positive integer'],
    ['RENDER_MAX_POLLS', '0', 'positive integer'],
    ['STILL_WORKING_MS', '-5', 'positive integer'],
    ['RATE_LIMIT_RETRY_MS', '1.5', 'positive integer'],
    ['HTTP_PORT', '70000', 'port number'],
    ['NEMO_API_URL', 'not a url', 'http:// or https:// URL'],
    ['NEMO_WEB_URL', 'ftp://nemovideo.com', 'http:// or https:// URL'],
    ['REDIS_URL', 'http://127.0.0.1:6379', 'redis:// or rediss:// URL'],
    ['LOG_LEVEL', 'verbose', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['DISCORD_GUILD_ID', 'my-guild', 'numeric Discord id'],
    ['DISCORD_FREE_TEXT_IN_GUILDS', 'yes', 'must be true or false'],
    ['DISCORD_SHARD_COUNT', 'many', 'must be auto or a positive integer'],
    ['DISCORD_SHARD_IDS', '0,x', 'must be a comma-separated list of shard numbers, e.g. 0,1'],
    ['OPS_HTTP_PORT', '65536', 'port number from 0 to 65535'],
    ['MAX_QUEUED_TURNS', '101', 'must be a positive integer up to 100'],
    ['ALLOWED_CHATS', 'slack:1', 'must be a comma-separated list like telegram:123, discord:guild:456'],
    ['TOKEN_ENCRYPTION_KEY', 'short', 'must be 32 bytes as 64 hex characters or base64'],
    ['REDIS_PREFIX', 'has space', 'must be 1-64 characters of A-Z, a-z, 0-9, _ : . or -'],
    ['ADMIN_PASSWORD', 'too short', 'must be 12-256 printable ASCII characters'],
  ])('when %s is %j, then the one-line error names it and what is expected', (variable, value, expected) => {
    const error = configError({ [variable]: value });
    expect(error.code).toBe('config_invalid');
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
  });

  it('when a non-secret value is bad, then the error shows it to help the operator', () => {
    expect(configError({ RENDER_MAX_POLLS: 'ten' }).message).toContain('"ten"');
  });

  it.each([
    ['TELEGRAM_BOT_TOKEN', 'LEAKED_value_without_colon'],
    ['NEMO_TOKEN', 'nmv_usr_LEAKED with space'],
    ['DISCORD_TOKEN', 'LEAKED\tvalue'],
    ['TELEGRAM_WEBHOOK_SECRET', 'LEAKED!value'],
    ['REDIS_URL', 'mysql://admin:LEAKED@db'],
    ['ADMIN_PASSWORD', 'LEAKED'],
  ])('when the secret %s is malformed, then the error names it without echoing the value', (variable, value) => {
    const error = configError({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain('LEAKED');
  });

  it('when several values are bad, then the first in the table is reported', () => {
    const error = configError({ RENDER_MAX_POLLS: 'x', NEMO_API_URL: 'nope' });
    expect(error.variable).toBe('NEMO_API_URL');
  });

  it('when a Telegram webhook URL is set without a secret, then the start stops naming the secret', () => {
    expect(() => loadConfig({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/telegram' })).toThrow(/TELEGRAM_WEBHOOK_SECRET/);
    expect(loadConfig({ TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/telegram', TELEGRAM_WEBHOOK_SECRET: 's3cret' }).telegramWebhookSecret).toBe('s3cret');
  });

  it('when Sentinel or Cluster nodes are set, then they are host:port lists; a bad list or both at once stop the start, never showing the sentinel password', () => {
    const sentinel = loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379, sentinel-2.internal:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'cache', REDIS_SENTINEL_PASSWORD: 'pw-123' });
    expect(sentinel.redisSentinels).toEqual([
      { host: '10.0.0.1', port: 26379 },
      { host: 'sentinel-2.internal', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
    expect(sentinel.redisSentinelName).toBe('cache');
    expect(loadConfig({}).redisSentinels).toEqual([]);
    expect(loadConfig({}).redisSentinelName).toBe('mymaster');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000 b:7001' }).redisClusterNodes).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ]);
    expect(configError({ REDIS_CLUSTER_NODES: 'a:7000,b' }).message).toMatch(/^Invalid setting REDIS_CLUSTER_NODES: must be a comma-separated list of host:port/);
    expect(configError({ REDIS_SENTINELS: 'a:70000' }).variable).toBe('REDIS_SENTINELS');
    expect(configError({ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' }).message).toMatch(/either REDIS_SENTINELS or REDIS_CLUSTER_NODES/);
    const secret = configError({ REDIS_SENTINEL_PASSWORD: 'has space-secret' });
    expect(secret.variable).toBe('REDIS_SENTINEL_PASSWORD');
    expect(secret.message).not.toContain('space-secret');
  });
});
