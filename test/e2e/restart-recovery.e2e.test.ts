import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { ChatAddress } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { adkTurn, startFakeNemo, textTrack, withTracks, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { RecordingOutbox } from '../render/render-harness.js';
import { FAST_ENV } from './console-harness.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { MessageProjects } from '../../src/core/message-projects.js';
import { projectRef } from '../../src/core/project-ref.js';
import { Redis } from 'ioredis';

const address: ChatAddress = { platform: 'telegram', chatId: '42', userId: '42' };

let fake: FakeNemo | undefined;
const apps: App[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  if (fake) {
    expect(fake.violations).toEqual([]);
    await fake.close();
    fake = undefined;
  }
});

/** One bot process: the app as `npm start` builds it, replying into a recording outbox. */
function startApp(config: Config, redis: { url: string; prefix: string }, firstMessageId = 1): { app: App; outbox: RecordingOutbox } {
  const outbox = new RecordingOutbox('telegram', undefined, firstMessageId);
  const app = createApp({
    config,
    redisUrl: redis.url,
    logger: createLogger({ level: 'silent', destination: new PassThrough() }),
    outboxes: { telegram: outbox },
    worker: false,
    prefix: redis.prefix,
  });
  apps.push(app);
  return { app, outbox };
}

describe('a turn cut by a restart', () => {
  it('when the bot stops mid-turn and starts again, then the result is reported from the state, mapped to its project, and the message is never re-sent', async () => {
    fake = await startFakeNemo();
    const redis = testRedis();
    const config = loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '30' });
    // Each start posts on from where the chat is: message ids are never reused.
    let starts = 0;
    const start = () => startApp(config, redis, 1 + 1000 * starts++);

    const first = start();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const adk = adkTurn();
    fake.scriptTurn({
      frames: [{ kind: 'event', event: adk.call('edit_multitrack', { action: 'add_text' }) }, { kind: 'wait', until: held }],
      draftAfter: (before: unknown) => withTracks(before, textTrack('Back Again', 0, 3000)),
    });
    const turn = first.app.engine.handle({ ...address, text: 'add a title', attachments: [], addressed: true, address, chatKind: 'private' });
    await waitFor(() => first.outbox.allText().includes('Editing the timeline'));

    // Stop: the deadline passes while the agent still works, so the stream is closed.
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    await turn;
    expect(first.outbox.allText()).toMatch(/I'm restarting/);
    expect(first.outbox.allText()).not.toMatch(/went through|couldn't confirm/);

    // The agent finishes while the bot is down.
    release();
    await fake.turnsEnded(1);

    const second = start();
    expect(await second.app.engine.recoverInterrupted()).toBe(1);
    const said = second.outbox.allText();
    // A quick recovery is one post: its "I'm back" progress step waits PROGRESS_DELAY_MS and is not needed.
    expect(said).not.toMatch(/I'm back/);
    expect(said).toMatch(/Your request went through/);
    expect(said).toMatch(/Back Again/);
    expect(fake.sseCalls).toHaveLength(1);

    // The recovery's answer is mapped to the turn's project: a reply to it continues that project.
    const answer = second.outbox.texts.find((m) => /Your request went through/.test(m.text));
    const raw = new Redis(redis.url);
    const messages = new MessageProjects(raw, createRedisKeys(redis.prefix), 3600);
    try {
      const projectRefOfTurn = projectRef(fake.sseCalls[0]?.sessionId ?? '');
      await waitFor(async () => (await messages.lookup(address, answer?.id ?? ''))?.projectRef === projectRefOfTurn, { message: 'the recovered answer mapped to its project' });
    } finally {
      raw.disconnect();
    }

    // Recovered once: a third start finds nothing left to do.
    const third = start();
    expect(await third.app.engine.recoverInterrupted()).toBe(0);
  });

  it('when a turn is still running in another process, then recovery leaves it alone', async () => {
    fake = await startFakeNemo();
    const redis = testRedis();
    const config = loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url });
    const logger = createLogger({ level: 'silent', destination: new PassThrough() });
    const outbox = new RecordingOutbox('telegram');
    const running = createApp({ config, redisUrl: redis.url, logger, outboxes: { telegram: outbox }, worker: false, prefix: redis.prefix });
    const other = createApp({ config, redisUrl: redis.url, logger, outboxes: { telegram: new RecordingOutbox('telegram') }, worker: false, prefix: redis.prefix });
    apps.push(running, other);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adkTurn().text('All done.') }] });
    const turn = running.engine.handle({ ...address, text: 'slow one', attachments: [], addressed: true, address, chatKind: 'private' });
    await waitFor(() => outbox.allText().includes('Working on it'));
    expect(await other.engine.recoverInterrupted()).toBe(0);
    release();
    await turn;
    expect(outbox.allText()).toMatch(/All done\./);
    expect(await other.engine.recoverInterrupted()).toBe(0);
  });

  it('when a holder died with messages queued behind it, then the sweep runs them in order once its lock is gone', async () => {
    fake = await startFakeNemo();
    const redis = testRedis();
    const { app, outbox } = startApp(loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url }), redis);
    await app.engine.handle({ ...address, text: 'credits', attachments: [], addressed: true, address, chatKind: 'private' });
    // A process took the lock and died: its lock lapsed, two messages still wait.
    const { TurnGate } = await import('../../src/core/turn-gate.js');
    const raw = new Redis(redis.url);
    const gate = new TurnGate(raw, createRedisKeys(redis.prefix), { lockTtlMs: 50 });
    const key = { platform: address.platform, chatId: address.chatId, userId: address.userId };
    const dead = await gate.enter(key, { text: 'first waiting', language: 'en', address, receivedAt: Date.now() });
    expect(dead.acquired).toBe(true);
    await gate.enter(key, { text: 'second waiting', language: 'en', address, receivedAt: Date.now() });
    await gate.enter(key, { text: 'third waiting', language: 'en', address, receivedAt: Date.now() });
    await waitFor(async () => (await raw.exists(createRedisKeys(redis.prefix).turnLock(key))) === 0, { message: 'the dead lock to lapse' });
    await raw.quit();

    expect(await app.engine.recoverInterrupted()).toBe(1);
    expect(fake.sseCalls.map((c) => c.text)).toEqual(['second waiting', 'third waiting']);
    expect(outbox.allText()).toMatch(/Happy to help with: third waiting/);
  });
});
