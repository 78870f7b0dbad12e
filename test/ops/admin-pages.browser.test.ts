import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { RenderJobData, RenderJobInput } from '../../src/render/job-data.js';
import { RENDER_JOB_NAME, RENDER_JOB_OPTIONS } from '../../src/render/render-queue.js';
import { adminPages } from '../../src/ops/admin-routes.js';
import { startHealthServer, type HealthServer } from '../../src/ops/health-server.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { DRAFT, LogCapture, OPERATOR_TOKEN, RecordingOutbox } from '../render/render-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const NO_CHECKS = { redis: async () => true };
const PASSWORD = 'correct horse battery staple';
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
const DESKTOP = { width: 1280, height: 900 };
// Generous: a loaded 2-core machine renders bull-board's first page slowly.
const UI_TIMEOUT_MS = 30_000;

/**
 * The operator's pages in a real headless Chromium (Debian's `chromium`): the overview and
 * bull-board, served by the real health server, over the real app (queue, worker, usage
 * figures, NemoVideo client) against the fake NemoVideo.
 */
describe('operator pages in a browser', () => {
  const redis = testRedis();
  const logs = new LogCapture();
  const outbox = new RecordingOutbox('telegram');
  let fake: FakeNemo;
  let app: App;
  let health: HealthServer;
  let base: string;
  let browser: Browser;
  let shots: string;
  let sessionId: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    shots = await mkdtemp(join(tmpdir(), 'admin-pages-'));
    fake = await startFakeNemo({ operatorTokens: [OPERATOR_TOKEN] });
    fake.setCredits(OPERATOR_TOKEN, { available: 740, frozen: 0, total: 1000 });
    const config = loadConfig({
      NEMO_API_URL: fake.url,
      NEMO_TOKEN: OPERATOR_TOKEN,
      RENDER_POLL_INTERVAL_MS: '150',
      // The held render is polled for the whole test and must not time out.
      RENDER_MAX_POLLS: '1000000',
      ADMIN_PASSWORD: PASSWORD,
      LOG_LEVEL: 'debug',
    });
    app = createApp({
      config,
      redisUrl: redis.url,
      logger: logs.logger,
      outboxes: { telegram: outbox },
      worker: true,
      prefix: redis.prefix.replace(/:+$/, ''),
      renderFirstPollMs: 50,
    });
    sessionId = (await app.nemo.createSession({ platform: 'telegram', token: async () => OPERATOR_TOKEN }, 'en')).sessionId;
    health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: app.metrics,
      logger: logs.logger,
      checks: NO_CHECKS,
      admin: adminPages({
        password: config.adminPassword ?? '',
        logger: logs.logger,
        renders: app.renders,
        usage: app.usage,
        nemoErrors: app.nemoErrors,
        credits: () => app.nemo.credits({ platform: 'admin', token: async () => OPERATOR_TOKEN }),
      }),
    });
    base = `http://127.0.0.1:${health.port}`;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await health?.close();
    await app?.close(0);
    await fake?.close();
    // The screenshots stay for a person to look at.
    process.stdout.write(`admin page screenshots: ${shots}\n`);
  }, 60_000);

  const input = (overrides: Partial<RenderJobInput['address']> = {}): RenderJobInput => ({
    renderId: `render_${randomUUID()}`,
    sessionKey: { platform: 'telegram', chatId: '-100777', userId: '42' },
    sessionId,
    address: { platform: 'telegram', chatId: '-100777', userId: '42', ...overrides },
    language: 'en',
    draft: DRAFT,
    correlationId: randomUUID(),
  });

  const newPage = async (viewport = DESKTOP): Promise<Page> => {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    return page;
  };

  const shot = async (page: Page, name: string): Promise<string> => {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path: path as `${string}.png`, fullPage: true });
    return path;
  };

  it('answers 401 with a Basic challenge to every page without the login', async () => {
    for (const path of ['/admin', '/admin/', '/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/js/main.js', '/admin/nothing']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toMatch(/^Basic realm="/);
      expect(await response.text(), path).not.toContain('render');
    }
    // Headless Chromium has no one to ask for a password: it cancels the navigation after the 401.
    const page = await newPage();
    const answered = page.waitForResponse((response) => response.url() === `${base}/admin`);
    await page.goto(`${base}/admin`).catch((error: unknown) => expect(String(error)).toContain('ERR_INVALID_AUTH_CREDENTIALS'));
    const response = await answered;
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
    expect(await response.text()).not.toContain('Render queue');
    await shot(page, '0-without-login');
    await page.close();
  }, 180_000);

  it('shows a render held at 50 %, its progress on the board, and retries a failed one', async () => {
    await app.usage.count('turns', Date.now(), 'telegram:42');
    await app.usage.count('turns', Date.now(), 'telegram:42');
    await app.usage.count('turns', Date.now(), 'discord:7');
    await app.usage.count('renders');

    // A: the fake holds it at 50 % for as long as the test runs.
    fake.scriptRender({ holdAtPercent: 50 });
    const held = input();
    await app.renders.enqueue(held);
    await waitFor(async () => (await app.renders.queue.getJob(held.renderId))?.progress === 50, {
      timeoutMs: UI_TIMEOUT_MS,
      message: 'the held render reaches 50 %',
    });

    // B: its submit is refused (a 400 is not retried), one attempt: it lands in `failed`.
    // Its person's id is markup, which the pages must show as text.
    fake.failNext('render-submit', { status: 400, code: 400, message: 'draft refused' });
    const failing = input({ userId: '<i id="injected">mallory</i>' });
    const data: RenderJobData = { ...failing, phase: 'submit', polls: 0, submitAttempts: 0 };
    await app.renders.queue.add(RENDER_JOB_NAME, data, { ...RENDER_JOB_OPTIONS, attempts: 1, jobId: failing.renderId });
    await waitFor(async () => (await app.renders.queue.getJobState(failing.renderId)) === 'failed', {
      timeoutMs: UI_TIMEOUT_MS,
      message: 'the refused render fails',
    });

    // The overview, logged in.
    const page = await newPage();
    await page.authenticate({ username: 'admin', password: PASSWORD });
    const overview = await page.goto(`${base}/admin`);
    expect(overview?.status()).toBe(200);
    const text = (selector: string): Promise<string> => page.$eval(selector, (el) => (el as unknown as { innerText: string }).innerText);
    expect(await text('#people')).toMatch(/^2\b/);
    expect(await text('#turns')).toMatch(/^3\b/);
    expect(await text('#exports')).toMatch(/^1\b/);
    expect(await text('#credits')).toContain('740');
    const heldRow = await text(`#renders tr[data-render="${held.renderId}"]`);
    expect(heldRow).toContain('50 %');
    expect(heldRow).toContain('telegram:-100777');
    expect(await text(`#failed tr[data-render="${failing.renderId}"]`)).toContain('draft refused');
    expect(await text('#nemo-errors')).toMatch(/400\s+1/);
    // Shown as text, never as markup.
    expect(await page.$('#injected')).toBeNull();
    expect(await text('#failed')).toContain('<i id="injected">mallory</i>');
    await shot(page, '1-overview');

    // Readable on a phone: nothing wider than the screen but the tables' own scroll boxes.
    await page.setViewport(PHONE);
    await page.reload();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    expect(await page.$eval('meta[name="viewport"]', (el) => el.getAttribute('content'))).toContain('width=device-width');
    await shot(page, '2-overview-phone');
    await page.setViewport(DESKTOP);

    // Finding the render by its id.
    await page.goto(`${base}/admin?q=${encodeURIComponent(held.renderId)}`);
    expect(await text('#search')).toContain(held.renderId);
    await shot(page, '3-search');

    // From the overview to the board: the held render's page shows its progress.
    await page.goto(`${base}/admin`);
    await Promise.all([page.waitForNavigation(), page.click(`#renders tr[data-render="${held.renderId}"] a`)]);
    expect(page.url()).toBe(`${base}/admin/queues/queue/render/${held.renderId}`);
    await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(held.renderId)}) && /50\\s*%/.test(document.body.innerText)`, { timeout: UI_TIMEOUT_MS });
    await shot(page, '4-board-held-render');

    // The failed one: retried from the board, then delivered.
    await page.goto(`${base}/admin/queues/queue/render/${failing.renderId}`);
    await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(failing.renderId)})`, { timeout: UI_TIMEOUT_MS });
    await shot(page, '5-board-failed-render');
    // The job card's actions are icons; retry is the circular arrows.
    const retry = await page.waitForSelector('button:has(svg.lucide-refresh-cw)', { visible: true, timeout: UI_TIMEOUT_MS });
    await retry?.click();
    // bull-board asks to confirm job actions by default.
    await clickButton(page, 'Confirm');
    await waitFor(async () => (await app.renders.queue.getJobState(failing.renderId)) === 'completed', {
      timeoutMs: UI_TIMEOUT_MS,
      message: 'the retried render completes',
    });
    expect(outbox.videos.map((video) => video.to.userId)).toEqual(['<i id="injected">mallory</i>']);
    await shot(page, '6-board-after-retry');

    // The board's queue list, for the record.
    await page.goto(`${base}/admin/queues`);
    await page.waitForFunction("document.body.innerText.includes('render')", { timeout: UI_TIMEOUT_MS });
    await shot(page, '7-board');
    await page.close();

    for (const name of ['1-overview', '2-overview-phone', '3-search', '4-board-held-render', '5-board-failed-render', '6-board-after-retry', '7-board']) {
      const png = await readFile(join(shots, `${name}.png`));
      expect(png.subarray(1, 4).toString('latin1'), name).toBe('PNG');
    }
    // No password and no token in any log line.
    const logged = logs.lines.join('\n');
    expect(logged).not.toContain(PASSWORD);
    expect(logged).not.toContain(OPERATOR_TOKEN);
  }, 180_000);

  it('refuses the actions that could lose renders, and a cross-site post', async () => {
    const auth = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
    for (const path of ['/admin/queues/api/queues/render/empty', '/admin/queues/api/queues/render/obliterate', '/admin/queues/api/queues/pause']) {
      const response = await fetch(`${base}${path}`, { method: 'PUT', headers: auth });
      expect(response.status, path).toBe(403);
    }
    const added = await fetch(`${base}/admin/queues/api/queues/render/add`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{}' });
    expect(added.status).toBe(403);
    const forged = await fetch(`${base}/admin/queues/api/queues/render/retry/failed`, { method: 'PUT', headers: { ...auth, Origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    // The held render is still there: nothing was emptied.
    expect(await app.renders.inFlight()).toBeGreaterThanOrEqual(1);
  });

  it('answers wrong passwords 401, then slows the client down, the right password too', async () => {
    // A server of its own: its slow-down must not lock the other tests out.
    const own = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: app.metrics,
      logger: logs.logger,
      checks: NO_CHECKS,
      admin: adminPages({
        password: PASSWORD,
        logger: logs.logger,
        renders: app.renders,
        usage: app.usage,
        nemoErrors: app.nemoErrors,
        // Long enough that the next try always meets it, however slow the machine.
        throttle: { freeFailures: 5, firstWaitMs: 120_000 },
      }),
    });
    const url = `http://127.0.0.1:${own.port}/admin`;
    try {
      const page = await newPage();
      for (let i = 1; i <= 5; i += 1) {
        await page.authenticate({ username: 'admin', password: `guess-${i}-xyz` });
        const response = await page.goto(url);
        expect(response?.status(), `try ${i}`).toBe(401);
      }
      await page.authenticate({ username: 'admin', password: PASSWORD });
      const slowed = await page.goto(url);
      expect(slowed?.status()).toBe(429);
      expect(Number(slowed?.headers()['retry-after'])).toBeGreaterThan(60);
      await shot(page, '8-slowed-down');
      await page.close();
      const wrongUser = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}` } });
      expect(wrongUser.status).toBe(429);
      expect(existsSync(join(shots, '8-slowed-down.png'))).toBe(true);
      expect(logs.lines.join('\n')).not.toContain('guess-');
    } finally {
      await own.close();
    }
  }, 180_000);

  it('is not served without a password, and only on the ops port when there is one', async () => {
    const off = await startHealthServer({ port: 0, host: '127.0.0.1', metrics: app.metrics, logger: logs.logger, checks: NO_CHECKS });
    const split = await startHealthServer({
      port: 0,
      opsPort: 0,
      host: '127.0.0.1',
      metrics: app.metrics,
      logger: logs.logger,
      checks: NO_CHECKS,
      admin: adminPages({ password: PASSWORD, logger: logs.logger, renders: app.renders, usage: app.usage, nemoErrors: app.nemoErrors }),
    });
    try {
      expect((await fetch(`http://127.0.0.1:${off.port}/admin`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${off.port}/admin/queues`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${split.port}/admin`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${split.opsPort}/admin`)).status).toBe(401);
    } finally {
      await off.close();
      await split.close();
    }
  });
});

/** Clicks the first visible button whose text is `label`. */
async function clickButton(page: Page, label: string): Promise<void> {
  // A string: the test's types know no DOM.
  const handle = await page.waitForFunction(
    `[...document.querySelectorAll('button')].find((b) => b.innerText.trim() === ${JSON.stringify(label)} && b.offsetParent !== null) ?? false`,
    { timeout: 10_000 },
  );
  await (handle as unknown as { click(): Promise<void> }).click();
}
