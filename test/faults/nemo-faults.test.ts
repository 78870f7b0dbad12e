import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { t } from '../../src/core/i18n.js';
import { SessionStore, type SessionKey } from '../../src/core/session-store.js';
import type { IncomingMessage } from '../../src/core/types.js';
import { FAST_ENV } from '../e2e/console-harness.js';
import { adkTurn, startFakeNemo, type FakeNemo, type Frame, type TurnScript } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { prng, seedFor, type Prng } from './support/prng.js';
import { RecordingOutbox, type RecordedMessage } from './support/recording-outbox.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { captureLogs } from '../helpers/log-capture.js';

const USERS = 40;
const MESSAGES_PER_USER = 8;
/** Planted in the service's error messages and in malformed frames: it must never reach a chat or a log line. */
const PLANTED = 'nmv_usr_PLANTEDsecretToken0123456789abcdef';

type Fault =
  | 'none'
  | '429'
  | '429-twice'
  | '5xx'
  | '1001-code'
  | '1001-expired'
  | '1002'
  | 'dropped-stream'
  | 'dropped-stream-after-work'
  | 'stall'
  | 'malformed-frames'
  | 'error-frame'
  | 'state-5xx';

const FAULTS: readonly Fault[] = [
  'none',
  '429',
  '429-twice',
  '5xx',
  '1001-code',
  '1001-expired',
  '1002',
  'dropped-stream',
  'dropped-stream-after-work',
  'stall',
  'malformed-frames',
  'error-frame',
  'state-5xx',
];

/** Texts that only show progress or set-up: a message answered with these alone was left in silence. */
const NOT_AN_ANSWER = new Set([
  t('en', 'thinking'),
  t('en', 'generating'),
  t('en', 'editing'),
  t('en', 'rawVideoReady'),
  t('en', 'recovering'),
  t('en', 'sessionReplaced'),
]);

function isAnswer(message: RecordedMessage): boolean {
  const first = message.history[0] ?? '';
  return !NOT_AN_ANSWER.has(first) && !first.endsWith('(incomplete: the connection broke)');
}

let app: App | undefined;
let fake: FakeNemo | undefined;
let redis: Redis | undefined;

afterEach(async () => {
  await app?.close();
  await fake?.close();
  redis?.disconnect();
  app = fake = redis = undefined;
});

describe('NemoVideo faults at random, many people at once', () => {
  it('when 429s, 5xx, 1001, 1002, dropped streams, keep-alive stalls and malformed frames hit turns at random, then every message gets an answer, none reaches the agent twice, and the bot keeps answering', async () => {
    const seed = seedFor('nemo-faults');
    fake = await startFakeNemo({ keepAliveMs: 30 });
    const { url, prefix } = testRedis();
    const config = loadConfig({
      ...FAST_ENV,
      NEMO_API_URL: fake.url,
      REDIS_URL: url,
      TURN_IDLE_TIMEOUT_MS: '400',
      RECOVERY_FIRST_WAIT_MS: '20',
      RECOVERY_WAIT_MS: '20',
      RECOVERY_MAX_CHECKS: '3',
      RATE_LIMIT_RETRY_MS: '20',
      NEMO_REQUEST_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
      // Every progress step is read below ("recovering"), so none waits for the delay.
      PROGRESS_DELAY_MS: '0',
    });
    const { logger, logs } = captureLogs({ level: config.logLevel });
    const outbox = new RecordingOutbox('telegram');
    redis = new Redis(url, { maxRetriesPerRequest: null });
    app = createApp({ config, redisUrl: url, redis, logger, outboxes: { telegram: outbox }, worker: false, prefix });
    const sessions = new SessionStore(redis, createRedisKeys(prefix));
    const nemo = fake;
    const engine = app.engine;

    const injected = new Map<Fault, number>();
    const problems: string[] = [];
    const sentTexts: string[] = [];

    /**
     * Scripts the fault on the service just before `user` sends a message; some faults land on
     * whichever turn comes next. Each carries its name as a label, so that `nemo.served` says which
     * ones the service really answered with (an expired token shows there as `expired token`).
     */
    const inject = async (fault: Fault, key: SessionKey, r: Prng): Promise<void> => {
      injected.set(fault, (injected.get(fault) ?? 0) + 1);
      const record = await sessions.read(key);
      const sessionId = record?.sessionId;
      const onSession = (script: TurnScript): void => nemo.scriptTurn({ ...script, label: fault, ...(sessionId === undefined ? {} : { sessionId }) });
      const failure = (status: number, code?: number) => ({ status, ...(code === undefined ? {} : { code }), message: `upstream said no to ${PLANTED}`, label: fault });
      switch (fault) {
        case 'none':
          return;
        case '429':
          return nemo.failNext('run_sse', { ...failure(429), ...(r.chance(0.5) ? { retryAfterSeconds: 0 } : {}) });
        case '429-twice':
          return nemo.failNext('run_sse', failure(429), 2);
        case '5xx':
          return nemo.failNext('run_sse', failure(r.pick([500, 502, 503, 504])));
        case '1001-code':
          return nemo.failNext('run_sse', failure(r.pick([200, 401]), 1001));
        case '1001-expired': {
          const identity = await sessions.readIdentity('telegram', key.userId);
          const token = identity === undefined ? undefined : nemo.tokensByClientId.get(identity.clientId)?.at(-1);
          if (token !== undefined) nemo.expireToken(token);
          return;
        }
        case '1002':
          return nemo.failNext('run_sse', failure(r.pick([200, 404]), 1002));
        case 'dropped-stream':
          return onSession({ frames: [{ kind: 'event', event: adkTurn().text('Starting on it', { partial: true }) }, { kind: 'keepalive', style: 'comment' }], end: 'destroy' });
        case 'dropped-stream-after-work': {
          const adk = adkTurn();
          return onSession({
            frames: [{ kind: 'event', event: adk.call('edit_multitrack', { action: 'add_text' }, 'c1') }, { kind: 'keepalive', style: 'heartbeat-json' }],
            draftAfter: { d: 3000, t: [{ tt: 7, m: { name: 'Title' }, sg: [{ id: `t-${r.int(0, 1e9)}`, st: 0, d: 3000, m: { text: 'Recovered' } }] }] },
            end: 'destroy',
          });
        }
        case 'stall':
          return onSession({ frames: [{ kind: 'event', event: adkTurn().call('generate_video_with_seedance', { prompt: 'x' }, 'g1', 'Generating the clip now.') }], end: 'stall', keepAliveMs: 30 });
        case 'malformed-frames': {
          const adk = adkTurn();
          const frames: Frame[] = [
            { kind: 'raw', text: 'data: {"content": {"parts": [\n\n' },
            { kind: 'raw', text: `data: not json at all ${PLANTED}\n\n` },
            { kind: 'raw', text: 'data: [1, 2, 3]\r\n\r\n' },
            { kind: 'raw', text: 'event: heartbeat\r\ndata: {}\r\n\r\n' },
            { kind: 'raw', text: 'id: 7\nretry: 10\n: comment\ndata: {"author": 42, "content": "nope"}\n\n' },
            { kind: 'event', event: adk.text('Here is what I could do.') },
          ];
          return onSession({ frames: r.chance(0.5) ? frames : [...frames].reverse() });
        }
        case 'error-frame':
          return onSession({
            frames: [{ kind: 'event', event: adkTurn().text('Working.') }, { kind: 'error', message: `internal failure near ${PLANTED}`, details: r.chance(0.5) }],
          });
        case 'state-5xx':
          return nemo.failNext('state', failure(r.pick([500, 503])), r.int(1, 3));
      }
    };

    const messageFor = (user: number, index: number, r: Prng): string => {
      const tag = `[u${user} m${index}]`;
      switch (r.int(0, 3)) {
        case 0:
          return `Generate a video of lighthouse ${tag}`;
        case 1:
          return `Add the title "Light ${user}-${index}" ${tag}`;
        case 2:
          return `Add some background music ${tag}`;
        default:
          return `What colours suit a calm video? ${tag}`;
      }
    };

    const say = async (user: number, text: string): Promise<RecordedMessage[]> => {
      const chatId = `chat-${user}`;
      const before = outbox.inChat(chatId).length;
      const message: IncomingMessage = {
        platform: 'telegram',
        chatId,
        userId: `user-${user}`,
        platformLanguage: 'en',
        text,
        attachments: [],
        addressed: true,
        chatKind: 'private',
        address: { platform: 'telegram', chatId, userId: `user-${user}` },
      };
      sentTexts.push(text);
      // The engine never throws for one person's failure: a rejection here is a crash.
      await engine.handle(message);
      return outbox.inChat(chatId).slice(before);
    };

    // Each person's choices come from their own stream of the seed, so the plan does not depend on timing.
    const plans = Array.from({ length: USERS }, (_, user) => {
      const r = prng((seed ^ Math.imul(user + 1, 0x9e3779b1)) >>> 0);
      return { r, messages: Array.from({ length: MESSAGES_PER_USER }, (__, index) => ({ text: messageFor(user, index, r), fault: r.pick(FAULTS) })) };
    });

    await Promise.all(
      plans.map(async ({ r, messages }, user) => {
        const key: SessionKey = { platform: 'telegram', chatId: `chat-${user}`, userId: `user-${user}` };
        for (const { text, fault } of messages) {
          await inject(fault, key, r);
          const replies = await say(user, text);
          if (!replies.some(isAnswer)) {
            problems.push(`user ${user}, "${text}" (fault ${fault}): no answer, only ${JSON.stringify(replies.map((m) => m.history))}`);
          }
        }
      }),
    );

    // Still answering, for everyone: more messages each until no scripted fault is left waiting (a
    // fault scripted for one session, or for whichever turn comes next, can outlive the fault phase
    // when a global failure met that turn first), then a plain one that must get the agent's words.
    const round = async (label: string): Promise<void> => {
      await Promise.all(
        plans.map(async (_, user) => {
          const text = `What colours suit a calm video? ${label} [u${user}]`;
          const replies = await say(user, text);
          if (!replies.some(isAnswer)) problems.push(`user ${user}, "${text}": no answer after the faults`);
        }),
      );
    };
    const pending = async (): Promise<number> => {
      const records = await Promise.all(plans.map((_, user) => sessions.read({ platform: 'telegram', chatId: `chat-${user}`, userId: `user-${user}` })));
      return nemo.pendingTurnFaults(records.flatMap((record) => (record ? [record.sessionId] : [])));
    };
    await round('once more');
    for (let extra = 2; extra <= 6 && (await pending()) > 0; extra++) await round(`once more (${extra})`);
    expect(await pending(), 'scripted faults still waiting after six rounds').toBe(0);
    await round('and again');
    const plainAnswers = plans.filter((_, user) =>
      outbox.inChat(`chat-${user}`).some((m) => m.history.some((text) => text.includes(`Happy to help with: What colours suit a calm video? and again [u${user}]`))),
    );

    // What the service really answered with: a scripted failure nobody's request met, or an expired
    // token nobody used again, did nothing and does not count.
    const served = new Map<string, number>();
    for (const fault of nemo.served) served.set(fault.label, (served.get(fault.label) ?? 0) + 1);
    const servedOf = (fault: Fault): number => served.get(fault === '1001-expired' ? 'expired token' : fault) ?? 0;
    process.stdout.write(
      `[nemo-faults] seed ${seed}; faults scripted: ${JSON.stringify(Object.fromEntries(injected))}; served: ${JSON.stringify(Object.fromEntries(served))}; run_sse calls ${nemo.sseCalls.length}\n`,
    );
    expect(problems, `messages left without an answer (seed ${seed})`).toEqual([]);
    expect(plainAnswers, 'every person gets a normal answer after the faults').toHaveLength(USERS);

    // Never twice to the agent: each text reached /run_sse at most once, and nothing else did.
    const counts = new Map<string, number>();
    for (const call of nemo.sseCalls) counts.set(call.text, (counts.get(call.text) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1), `texts sent to the agent twice (seed ${seed})`).toEqual([]);
    expect([...counts.keys()].filter((text) => !sentTexts.includes(text))).toEqual([]);
    expect(nemo.violations).toEqual([]);

    // The faults were really exercised: recoveries ran, tokens were renewed, sessions replaced, 429s waited out.
    const all = outbox.messages.flatMap((m) => m.history);
    for (const fault of FAULTS.filter((f) => f !== 'none')) expect(servedOf(fault), `fault ${fault} served by the service (seed ${seed})`).toBeGreaterThan(0);
    expect(injected.get('none') ?? 0, 'some messages met no fault').toBeGreaterThan(0);
    expect(all).toContain(t('en', 'recovering'));
    expect(all).toContain(t('en', 'sessionReplaced'));
    const metrics = await app.metrics.registry.getSingleMetricAsString('nvb_nemo_errors_total');
    for (const code of ['429', '1001', '1002']) expect(metrics, `nemo errors with code ${code}`).toMatch(new RegExp(`code="${code}"[^\\n]* [1-9]`));

    // The planted token (and every real one) never reaches a chat or a log line.
    const secrets = [PLANTED, ...nemo.issuedTokens];
    expect(secrets.filter((secret) => all.some((text) => text.includes(secret)))).toEqual([]);
    expect(secrets.filter((secret) => logs().includes(secret))).toEqual([]);
  });
});
