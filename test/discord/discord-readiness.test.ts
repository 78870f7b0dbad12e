import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startHealthServer } from '../../src/ops/health-server.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { buildOutboxes, startAdapters, type Adapters } from '../../src/platforms.js';
import { FAST_ENV } from '../e2e/console-harness.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../fakes/discord/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ReadyBody {
  status: string;
  checks: Record<string, boolean>;
  details?: Record<string, { state?: string; closes?: number; lastClose?: { code: number; reason: string } }>;
}

/** The Discord adapter as `src/main.ts` starts it (startAdapters), with the health server over it. */
async function startWired(options: FakeDiscordOptions = {}, env: Record<string, string> = {}) {
  const fake: FakeDiscord = await startFakeDiscord(options);
  const { url, prefix } = testRedis();
  const config = loadConfig({
    ...FAST_ENV,
    REDIS_URL: url,
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    DISCORD_GUILD_ID: fake.guildId,
    ...env,
  });
  let logText = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination, secrets: [fake.token] });
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const metrics = createMetrics({ defaultMetrics: false });
  const outboxes = buildOutboxes(config, { redis, keys: createRedisKeys(prefix), logger, output: new PassThrough() });
  const fatal: string[] = [];
  const adapters: Adapters = startAdapters(config, {
    handler: { handle: async () => undefined },
    redis,
    keys: createRedisKeys(prefix),
    logger,
    outboxes,
    metrics,
    onFatal: (line) => fatal.push(line),
  });
  const health = await startHealthServer({
    port: 0,
    host: '127.0.0.1',
    metrics,
    logger,
    checks: { redis: () => Promise.resolve(true), platforms: () => adapters.connected() },
  });
  cleanups.push(async () => {
    await health.close();
    await adapters.stop();
    outboxes.close();
    redis.disconnect();
    await fake.close();
  });
  const readyz = async (): Promise<{ status: number; body: ReadyBody }> => {
    const res = await fetch(`http://127.0.0.1:${health.port}/readyz`);
    return { status: res.status, body: (await res.json()) as ReadyBody };
  };
  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${health.port}/metrics`)).text();
  return { fake, readyz, scrape, fatal, logs: () => logText };
}

describe('Discord readiness and gateway metrics', () => {
  it('when the gateway closes with 4002, then /readyz shows the state and the last close, and the metrics count it', async () => {
    const { fake, readyz, scrape } = await startWired();
    await waitFor(async () => (await readyz()).status === 200, { message: '/readyz 200' });
    expect((await readyz()).body.details?.['platform:discord']).toMatchObject({ state: 'ready', closes: 0 });
    expect(await scrape()).toMatch(/nvb_platform_connected\{platform="discord"\} 1/);

    fake.closeGateway(4002, 'Decode error');
    await waitFor(async () => (await readyz()).body.details?.['platform:discord']?.closes === 1, { message: 'the close in /readyz' });
    await waitFor(async () => (await readyz()).status === 200, { message: 'ready again' });
    const { body } = await readyz();
    expect(body.checks['platform:discord']).toBe(true);
    expect(body.details?.['platform:discord']).toMatchObject({ state: 'ready', lastClose: { code: 4002, reason: 'DecodeError' } });
    const text = await scrape();
    expect(text).toMatch(/nvb_gateway_closes_total\{platform="discord",code="4002"\} 1/);
    expect(text).toMatch(/nvb_platform_connected\{platform="discord"\} 1/);
  });

  it('while the gateway refuses connections, then /readyz is 503 with the state; once it accepts, 200', async () => {
    const { fake, readyz } = await startWired({ refuseGatewayForMs: 1500 });
    await waitFor(() => fake.refusedGatewayConnections() >= 1, { message: 'a refusal' });
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.details?.['platform:discord']?.state).not.toBe('ready');
    await waitFor(async () => (await readyz()).status === 200, { message: '/readyz 200 after the outage' });
  });

  it('when Discord refuses DISCORD_TOKEN and no other platform runs, then the start is stopped with one line naming it', async () => {
    const { fatal, logs } = await startWired({ gatewayRejectsToken: true });
    await waitFor(() => fatal.length === 1, { message: 'the fatal line' });
    expect(fatal[0]).toMatch(/^Discord refused DISCORD_TOKEN [^\n]+$/);
    expect(logs()).not.toMatch(/discord did not start/);
  });

  it('when Discord refuses DISCORD_TOKEN while Telegram is configured, then it says so once and the start goes on', async () => {
    const { fatal, logs } = await startWired({ gatewayRejectsToken: true }, { TELEGRAM_BOT_TOKEN: '123456:ABCdefGhIJKlmnoPQRstuVWXyz0123456789', TELEGRAM_API_ROOT: 'http://127.0.0.1:9' });
    await waitFor(() => /Discord stays off; the other platforms keep running/.test(logs()), { message: 'the line' });
    expect(fatal).toEqual([]);
    expect(logs().match(/Discord refused DISCORD_TOKEN/g)).toHaveLength(1);
  });
});
