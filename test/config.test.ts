import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

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
});
