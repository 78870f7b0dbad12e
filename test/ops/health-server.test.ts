import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer, type HealthServerOptions } from '../../src/ops/health-server.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { isRedisReady } from '../../src/ops/redis-ready.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

/** A logger whose lines the test can read. */
function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('startHealthServer', () => {
  const servers: HealthServer[] = [];
  const redisServers: RedisServerHandle[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const client of clients.splice(0)) client.disconnect();
    for (const redis of redisServers.splice(0)) {
      await redis.kill();
      await rm(redis.dir, { recursive: true, force: true });
    }
  });

  const start = async (overrides: Partial<HealthServerOptions> = {}): Promise<{ server: HealthServer; url: string }> => {
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: createMetrics({ defaultMetrics: false }),
      checks: { redis: () => Promise.resolve(true) },
      logger: pino({ level: 'silent' }),
      ...overrides,
    });
    servers.push(server);
    return { server, url: `http://127.0.0.1:${server.port}` };
  };

  it('when the process lives, then /healthz answers 200 ok to GET and HEAD even while not ready', async () => {
    const { url } = await start({ checks: { redis: () => Promise.resolve(false) } });

    const get = await fetch(`${url}/healthz`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('ok\n');
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('when every check passes, then /readyz is 200 and lists each check', async () => {
    const { url } = await start({
      checks: { redis: () => Promise.resolve(true), worker: () => true, platforms: () => ({ telegram: true, discord: true }) },
    });

    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      status: 'ready',
      checks: { redis: true, worker: true, 'platform:telegram': true, 'platform:discord': true },
    });
  });

  it('when a platform is down and the worker check throws, then /readyz is 503 naming both', async () => {
    const { url } = await start({
      checks: {
        redis: () => Promise.resolve(true),
        worker: () => Promise.reject(new Error('boom')),
        platforms: () => ({ telegram: false, discord: true }),
      },
    });

    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; failing: string[] };
    expect(body.status).toBe('not ready');
    expect(body.failing).toEqual(['worker', 'platform:telegram']);
  });

  it('when a check hangs, then /readyz answers 503 within the check timeout', async () => {
    const { url } = await start({ checkTimeoutMs: 100, checks: { redis: () => new Promise<boolean>(() => undefined) } });

    const started = Date.now();
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { failing: string[] }).failing).toEqual(['redis']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('when Redis is stopped, then /readyz turns 503 naming redis, and 200 again once it is back', async () => {
    const redisServer = await startRedis();
    redisServers.push(redisServer);
    const client = new Redis(redisServer.url, { maxRetriesPerRequest: null, retryStrategy: () => 20 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.ping();
    const { logger, lines } = memoryLogger();
    const { url } = await start({ logger, checks: { redis: () => isRedisReady(client) } });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    await redisServer.stop();

    let down: Response | undefined;
    await waitFor(async () => (down = await fetch(`${url}/readyz`)).status === 503, { message: '/readyz turns 503' });
    expect(((await down?.json()) as { failing: string[] }).failing).toEqual(['redis']);
    expect(lines.some((line) => line.msg === 'not ready' && JSON.stringify(line.failing) === '["redis"]')).toBe(true);

    await redisServer.restart();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { message: '/readyz back to 200' });
  });

  it('when /metrics is scraped, then it answers the Prometheus text with the bot metrics and the queue depth', async () => {
    const metrics = createMetrics({ collectQueueDepth: () => Promise.resolve(4) });
    metrics.deliveries.inc({ kind: 'file' });
    const { url } = await start({ metrics });

    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'nvb_turns_total',
      'nvb_turn_duration_seconds',
      'nvb_keepalive_waits_total',
      'nvb_renders_total',
      'nvb_deliveries_total',
      'nvb_nemo_errors_total',
      'nvb_platform_429_total',
      'nvb_render_queue_depth',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('nvb_deliveries_total{kind="file"} 1');
    expect(text).toContain('nvb_render_queue_depth 4');
  });

  it('when OPS_HTTP_PORT is set, then /metrics and /readyz answer only there, the webhook only on the main port, and /healthz on both', async () => {
    const mounted: string[] = [];
    const { server, url } = await start({
      opsPort: 0,
      mounts: new Map([['/telegram/hook', (_req, res) => void (mounted.push('hook'), res.writeHead(200).end())]]),
    });
    expect(server.opsPort).toBeDefined();
    expect(server.opsPort).not.toBe(server.port);
    const ops = `http://127.0.0.1:${server.opsPort}`;

    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${url}/readyz`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/telegram/hook`, { method: 'POST' })).status).toBe(200);

    const metrics = await fetch(`${ops}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('nvb_webhook_refused_total');
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/telegram/hook`, { method: 'POST' })).status).toBe(404);
    expect(mounted).toEqual(['hook']);
  });

  it('when an unknown path or a POST arrives, then it answers 404 or 405', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/__proto__`)).status).toBe(404);
    const post = await fetch(`${url}/readyz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('when the port is taken, then start rejects with a PortInUseError naming HTTP_PORT', async () => {
    const { server } = await start();
    await expect(start({ port: server.port })).rejects.toMatchObject({
      code: 'port_in_use',
      setting: 'HTTP_PORT',
      message: `Port ${server.port} is already in use (HTTP_PORT): stop what listens there, or set HTTP_PORT to a free port.`,
    });
  });

  it('when closed while a client keeps its connection alive, then close resolves and the port refuses', async () => {
    const { server, url } = await start();
    await fetch(`${url}/healthz`, { keepalive: true });
    servers.splice(servers.indexOf(server), 1);

    await server.close();

    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
