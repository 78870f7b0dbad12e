import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Attachment, ChatAddress, IncomingMessage } from '../../src/core/types.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { adk, startFakeNemo, type FakeNemo, type FakeNemoOptions } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { RecordingOutbox } from '../render/render-harness.js';
import { FAST_ENV } from './console-harness.js';
import { captureLogs } from '../helpers/log-capture.js';

const OPERATOR = 'nmv_usr_operator_flood_tests_0000000001';

const QUEUED = /^Got it\./;
const QUEUE_FULL = /^You have 3 messages waiting; I'll get to them\. Please wait for the answers/;
const SLOW_DOWN = /^You're sending messages faster than I can take them \(at most (\d+) a minute\)/;
const RENDER_RUNNING = /^This project is already rendering \((starting|\d+ %)\)\. I'll send the video here when it's ready/;

interface Rig {
  fake: FakeNemo;
  redis: { url: string; prefix: string };
  app: App;
  outbox: RecordingOutbox;
  logs: () => string;
  /** The clock of the rate windows: tests move it instead of waiting a minute. */
  clock: { now: number };
  handle(userId: string, text: string, extra?: Partial<IncomingMessage>): Promise<void>;
  /** Handles one message and returns the texts the bot sent while it was handled (sequential use only). */
  send(userId: string, text: string, extra?: Partial<IncomingMessage>): Promise<string[]>;
  /** Everything sent to a person's private chat so far. */
  textsTo(userId: string): string[];
}

let rig: Rig | undefined;
const probes: Redis[] = [];

afterEach(async () => {
  for (const probe of probes.splice(0)) probe.disconnect();
  if (!rig) return;
  const { app, fake } = rig;
  rig = undefined;
  await app.close();
  await fake.close();
  expect(fake.violations).toEqual([]);
});

async function start(env: Record<string, string>, options: { worker?: boolean; fake?: FakeNemoOptions } = {}): Promise<Rig> {
  const fake = await startFakeNemo({ operatorTokens: [OPERATOR], ...options.fake });
  const redis = testRedis();
  const config = loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url, ...env });
  const { logger, logs } = captureLogs({ secrets: [OPERATOR] });
  const outbox = new RecordingOutbox('telegram');
  const clock = { now: Date.UTC(2026, 0, 5, 12, 0, 0) };
  const app = createApp({
    config,
    redisUrl: redis.url,
    logger,
    outboxes: { telegram: outbox },
    worker: options.worker ?? false,
    prefix: redis.prefix,
    now: () => clock.now,
  });
  const handle = async (userId: string, text: string, extra: Partial<IncomingMessage> = {}): Promise<void> => {
    const address: ChatAddress = { platform: 'telegram', chatId: userId, userId };
    await app.engine.handle({ platform: 'telegram', chatId: userId, userId, text, attachments: [], addressed: true, address, chatKind: 'private', ...extra });
  };
  return {
    fake,
    redis,
    app,
    outbox,
    logs,
    clock,
    handle,
    async send(userId, text, extra) {
      const before = outbox.texts.length;
      await handle(userId, text, extra);
      return outbox.texts.slice(before).map((m) => m.text);
    },
    textsTo: (userId) => outbox.texts.filter((m) => m.to.chatId === userId).map((m) => m.text),
  };
}

function probe(url: string): Redis {
  const redis = new Redis(url);
  probes.push(redis);
  return redis;
}

/** Keys matching `pattern` (a SCAN pattern from the key map), each with its TTL in ms (-1: none). */
async function keysWithTtl(r: Rig, pattern: string): Promise<Array<{ key: string; ttl: number }>> {
  const redis = probe(r.redis.url);
  const found: Array<{ key: string; ttl: number }> = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    for (const key of keys) found.push({ key, ttl: await redis.pttl(key) });
  } while (cursor !== '0');
  return found;
}

/** Every turn key (lock, waiting queue, queue-full mark) of any session: the key map's keys with wildcard parts. */
function turnPatterns(prefix: string): string[] {
  const keys = createRedisKeys(prefix);
  return (['telegram', 'discord', 'console'] as const).flatMap((platform) => {
    const any = { platform, chatId: '*', userId: '*' };
    return [keys.turnLock(any), keys.turnPending(any), keys.turnFull(any)];
  });
}

/** A turn the fake agent holds open until `release` is called. */
function holdNextTurn(fake: FakeNemo): () => void {
  let release: () => void = () => undefined;
  const until = new Promise<void>((resolve) => (release = resolve));
  fake.scriptTurn({ frames: [{ kind: 'wait', until }, { kind: 'event', event: adk.text('Held answer.') }] });
  return release;
}

function sseTextsOf(fake: FakeNemo, prefix: string): string[] {
  return fake.sseCalls.map((call) => call.text).filter((text) => text.startsWith(prefix));
}

function picture(name: string): Attachment {
  const bytes = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  return { name, mimeType: 'image/png', size: bytes.length, open: async () => Readable.from([bytes]) };
}

describe('queued turns per person', () => {
  it('when 300 messages arrive during one turn, then 3 wait, the flooder gets one notice, and another person chatting meanwhile is answered', async () => {
    // The rate limit is out of the way here: this is the cap on waiting turns alone.
    rig = await start({ USER_MESSAGES_PER_MINUTE: '100000' });
    const r = rig;
    await r.send('flooder', '/start');
    await r.send('bystander', '/start');

    const release = holdNextTurn(r.fake);
    const first = r.handle('flooder', 'flood 0: the first one');
    await waitFor(() => r.fake.sseCalls.some((call) => call.text === 'flood 0: the first one'), { message: 'the first turn reached the agent' });
    const before = r.textsTo('flooder').length;

    const bystander = (async () => {
      for (let i = 0; i < 3; i++) await r.handle('bystander', `bystander question ${i}`);
    })();
    await Promise.all(Array.from({ length: 300 }, (_, i) => r.handle('flooder', `flood ${i + 1}`)));
    await bystander;

    const duringFlood = r.textsTo('flooder').slice(before);
    expect(duringFlood.filter((text) => QUEUED.test(text))).toHaveLength(3);
    expect(duringFlood.filter((text) => QUEUE_FULL.test(text))).toHaveLength(1);
    expect(duringFlood).toHaveLength(4);
    // At most three turns wait in Redis, not 300.
    const pending = await keysWithTtl(r, createRedisKeys(r.redis.prefix).turnPending({ platform: 'telegram', chatId: '*', userId: '*' }));
    expect(await probe(r.redis.url).llen(pending[0]?.key ?? 'none')).toBe(3);

    // The other person was answered all along, by the agent.
    for (let i = 0; i < 3; i++) expect(r.textsTo('bystander').join('\n')).toContain(`Happy to help with: bystander question ${i}`);

    release();
    await first;
    const flooderTurns = sseTextsOf(r.fake, 'flood ');
    expect(flooderTurns).toHaveLength(4);
    expect(flooderTurns[0]).toBe('flood 0: the first one');

    // Drained: the next message is a turn again, and a new flood gets a new notice.
    const after = await r.send('flooder', 'flood again: one more');
    expect(after.join('\n')).toContain('Happy to help with: flood again: one more');
    const releaseAgain = holdNextTurn(r.fake);
    const held = r.handle('flooder', 'flood again: held');
    await waitFor(() => r.fake.sseCalls.some((call) => call.text === 'flood again: held'));
    const mark = r.textsTo('flooder').length;
    for (let i = 0; i < 6; i++) await r.handle('flooder', `flood again ${i}`);
    expect(r.textsTo('flooder').slice(mark).filter((text) => QUEUE_FULL.test(text))).toHaveLength(1);
    releaseAgain();
    await held;

    for (const { key, ttl } of (await Promise.all(turnPatterns(r.redis.prefix).map((pattern) => keysWithTtl(r, pattern)))).flat()) expect({ key, ttl: ttl > 0 }).toEqual({ key, ttl: true });
  });

  it('when a Chinese-speaking person floods, then the notice is in Chinese', async () => {
    rig = await start({ USER_MESSAGES_PER_MINUTE: '100000', MAX_QUEUED_TURNS: '1' });
    const r = rig;
    await r.send('zh-user', '/start', { platformLanguage: 'zh-CN' });
    const release = holdNextTurn(r.fake);
    const first = r.handle('zh-user', '第一条消息', { platformLanguage: 'zh-CN' });
    await waitFor(() => r.fake.sseCalls.some((call) => call.text === '第一条消息'));
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) replies.push(...(await r.send('zh-user', `消息 ${i}`, { platformLanguage: 'zh-CN' })));
    expect(replies).toEqual([expect.stringMatching(/^收到/), '你还有 1 条消息在排队，我会逐一处理，请等回复。在此期间发送的新消息会被跳过。']);
    release();
    await first;
  });

  it("when the daily turn limit applies, then turns refused for a full queue are given back to today's count", async () => {
    rig = await start({ NEMO_TOKEN: OPERATOR, USER_DAILY_TURNS: '4', MAX_QUEUED_TURNS: '1', USER_MESSAGES_PER_MINUTE: '1000' });
    const r = rig;
    await r.send('q', '/start');
    const release = holdNextTurn(r.fake);
    const first = r.handle('q', 'turn 1');
    await waitFor(() => r.fake.sseCalls.some((call) => call.text === 'turn 1'));
    expect(await r.send('q', 'turn 2')).toEqual([expect.stringMatching(QUEUED)]);
    for (let i = 0; i < 5; i++) await r.handle('q', `refused ${i}`);
    release();
    await first;
    // Two of four used (the held turn and the queued one): two more pass, the fifth is refused.
    expect((await r.send('q', 'turn 3')).join('\n')).toContain('Happy to help with: turn 3');
    expect((await r.send('q', 'turn 4')).join('\n')).toContain('Happy to help with: turn 4');
    expect(await r.send('q', 'turn 5')).toEqual([expect.stringMatching(/today's 4 requests/)]);
    expect(sseTextsOf(r.fake, 'turn ')).toEqual(['turn 1', 'turn 2', 'turn 3', 'turn 4']);
  });
});

describe('message rate per person', () => {
  it('when a person sends more than the limit in a minute, then one notice, silence (chat turns and commands alike), and answers again in the next minute', async () => {
    rig = await start({ USER_MESSAGES_PER_MINUTE: '4' });
    const r = rig;
    // Four messages, chat turns and commands mixed: all answered.
    expect((await r.send('fast', 'credits')).join('\n')).toMatch(/Credits: 100 available/);
    expect((await r.send('fast', 'hello one')).join('\n')).toContain('Happy to help with: hello one');
    expect((await r.send('fast', 'hello two')).join('\n')).toContain('Happy to help with: hello two');
    expect((await r.send('fast', '/status')).length).toBeGreaterThan(0);

    const notice = await r.send('fast', 'hello three');
    expect(notice).toEqual([expect.stringMatching(SLOW_DOWN)]);
    expect(notice[0]).toContain('at most 4 a minute');
    expect(await r.send('fast', 'hello four')).toEqual([]);
    expect(await r.send('fast', 'credits')).toEqual([]);
    expect(await r.send('fast', '/help')).toEqual([]);
    expect(sseTextsOf(r.fake, 'hello')).toEqual(['hello one', 'hello two']);

    // Someone else is not affected.
    expect((await r.send('other', 'hello from another')).join('\n')).toContain('Happy to help with: hello from another');

    // The window turns: answered again, and the counter's key has a TTL.
    const counters = await keysWithTtl(r, createRedisKeys(r.redis.prefix).floodRate(Math.floor(r.clock.now / 60_000), 'telegram', '*'));
    expect(counters.length).toBeGreaterThan(0);
    for (const { ttl } of counters) expect(ttl).toBeGreaterThan(0);
    r.clock.now += 60_000;
    expect((await r.send('fast', 'hello five')).join('\n')).toContain('Happy to help with: hello five');
    expect(sseTextsOf(r.fake, 'hello')).toEqual(['hello one', 'hello two', 'hello from another', 'hello five']);
  });

  it('when a Chinese-speaking person goes over the rate, then the notice is in Chinese', async () => {
    rig = await start({ USER_MESSAGES_PER_MINUTE: '1' });
    await rig.send('zh', '积分', { platformLanguage: 'zh-CN' });
    expect(await rig.send('zh', '积分', { platformLanguage: 'zh-CN' })).toEqual(['你发消息太快了（每分钟最多 1 条）。一分钟内的新消息我会忽略，请稍等。']);
  });

  it('when the daily turn limit applies, then a message over the rate is refused before it is counted against today', async () => {
    rig = await start({ NEMO_TOKEN: OPERATOR, USER_DAILY_TURNS: '3', USER_MESSAGES_PER_MINUTE: '1' });
    expect((await rig.send('q', 'first words')).join('\n')).toContain('Happy to help with: first words');
    expect(await rig.send('q', 'second words')).toEqual([expect.stringMatching(SLOW_DOWN)]);
    rig.clock.now += 60_000;
    expect((await rig.send('q', 'third words')).join('\n')).toContain('Happy to help with: third words');
    rig.clock.now += 60_000;
    // The refused message did not use one of the three: this is the third.
    expect((await rig.send('q', 'fourth words')).join('\n')).toContain('Happy to help with: fourth words');
    rig.clock.now += 60_000;
    expect(await rig.send('q', 'fifth words')).toEqual([expect.stringMatching(/today's 3 requests/)]);
  });
});

describe('one render in flight per project', () => {
  it('when 30 exports arrive at once, then one render job is queued and the other 29 are told it is already rendering', async () => {
    rig = await start({ USER_MESSAGES_PER_MINUTE: '1000' });
    const r = rig;
    await r.send('maker', 'Generate a video of a quiet harbour');
    const before = r.textsTo('maker').length;
    await Promise.all(Array.from({ length: 30 }, () => r.handle('maker', 'export')));

    const counts = await r.app.renders.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(1);
    const replies = r.textsTo('maker').slice(before);
    expect(replies.filter((text) => /^Rendering… I'll post the progress/.test(text))).toHaveLength(1);
    expect(replies.filter((text) => RENDER_RUNNING.test(text))).toHaveLength(29);
    expect(replies).toHaveLength(30);
    // The export slot is bounded in time like every other key.
    const slots = await keysWithTtl(r, createRedisKeys(r.redis.prefix).exportSlot('*'));
    expect(slots).toHaveLength(1);
    expect(slots[0]?.ttl).toBeGreaterThan(0);
  });

  it('when a render is polling, then another export shows its percent; once the video arrived, the next export renders again', async () => {
    rig = await start({ USER_MESSAGES_PER_MINUTE: '1000', RENDER_POLL_INTERVAL_MS: '50', RENDER_MAX_POLLS: '100' }, { worker: true, fake: { renderScript: { pollsUntilComplete: 40 } } });
    const r = rig;
    await r.send('maker', 'Generate a video of a quiet harbour');
    await r.send('maker', 'export');
    await waitFor(() => r.outbox.edits.some((edit) => /^Rendering… \d+ %/.test(edit.text)), { message: 'a progress edit', timeoutMs: 20_000 });
    const running = await r.send('maker', '/export');
    expect(running).toEqual([expect.stringMatching(/^This project is already rendering \(\d+ %\)/)]);
    expect(r.fake.renders.size).toBe(1);

    await waitFor(() => r.outbox.videos.length === 1, { message: 'the video', timeoutMs: 30_000 });
    await waitFor(async () => (await r.app.renders.inFlight()) === 0, { message: 'the job to finish' });
    expect(await r.send('maker', 'export')).toContainEqual(expect.stringMatching(/^Rendering… I'll post the progress/));
    await waitFor(() => r.fake.renders.size === 2, { message: 'the second render submitted', timeoutMs: 20_000 });
  });

  it('when an export finds nothing to export, then the project is free for the next export', async () => {
    rig = await start({});
    expect(await rig.send('maker', 'export')).toContainEqual(expect.stringMatching(/nothing to export yet/));
    await rig.send('maker', 'Generate a video of a quiet harbour');
    expect(await rig.send('maker', 'export')).toContainEqual(expect.stringMatching(/^Rendering… I'll post the progress/));
  });
});

describe('uploads and links', () => {
  it('when the daily upload limit is used, then links, links in chat and files are refused before anything is uploaded', async () => {
    rig = await start({ NEMO_TOKEN: OPERATOR, USER_DAILY_UPLOADS: '2' });
    const r = rig;
    const ok = await r.send('up', '/upload https://media.example/a.mp4 https://media.example/b.mp4');
    expect(ok.join('\n')).toMatch(/Uploaded: a\.mp4, b\.mp4/);
    const uploadsBefore = r.fake.uploads.length;
    expect(uploadsBefore).toBe(2);

    const byCommand = await r.send('up', 'upload https://media.example/c.mp4');
    expect(byCommand).toEqual([expect.stringMatching(/^You've used today's 2 uploads, so I didn't upload that\. The limit resets in/)]);
    const inChat = await r.send('up', 'put https://media.example/d.mp4 at the start');
    expect(inChat).toEqual([expect.stringMatching(/today's 2 uploads/)]);
    const file = await r.send('up', 'use this picture', { attachments: [picture('cover.png'), picture('back.png')] });
    // One refusal for the message, not one per file; the words are not relayed without their files.
    expect(file).toEqual([expect.stringMatching(/today's 2 uploads/)]);
    expect(r.fake.uploads).toHaveLength(uploadsBefore);
    expect(r.fake.sseCalls.map((call) => call.text)).toEqual([]);

    // Someone else has their own count.
    expect((await r.send('other', 'upload https://media.example/e.mp4')).join('\n')).toMatch(/Uploaded: e\.mp4/);
    for (const { ttl } of await keysWithTtl(r, createRedisKeys(r.redis.prefix).quota('uploads', Date.now(), 'telegram', '*'))) expect(ttl).toBeGreaterThan(0);
  });

  it('when a message asks to upload more links than the cap, then it is refused naming the cap and nothing is uploaded or relayed', async () => {
    rig = await start({ MAX_LINKS_PER_MESSAGE: '5' });
    const links = Array.from({ length: 6 }, (_, i) => `https://media.example/clip${i}.mp4`).join(' ');
    expect(await rig.send('many', `/upload ${links}`)).toEqual([
      'That message has too many links to upload: I take at most 5 per message. Please send them in smaller batches.',
    ]);
    expect(await rig.send('many', `cut these together: ${links}`)).toEqual([expect.stringMatching(/at most 5 per message/)]);
    expect(await rig.send('many', `把这些剪在一起 ${links}`)).toEqual(['这条消息里要上传的链接太多了：每条消息最多 5 个，请分批发送。']);
    expect(rig.fake.uploads).toEqual([]);
    expect(rig.fake.sseCalls).toEqual([]);
    // Five is fine.
    const five = Array.from({ length: 5 }, (_, i) => `https://media.example/ok${i}.mp4`).join(' ');
    expect((await rig.send('many', `/upload ${five}`)).join('\n')).toMatch(/Uploaded: ok0\.mp4, ok1\.mp4, ok2\.mp4, ok3\.mp4, ok4\.mp4/);
  });
});
