import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { inboxKey } from '../../src/core/inbox.js';
import { t } from '../../src/core/i18n.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { adkTurn, startFakeNemo, textTrack, withTracks, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { spawnMain, type MainProcess } from '../helpers/main-process.js';
import { freePort } from '../helpers/redis-server.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';

const processes: MainProcess[] = [];
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let redis: Redis | undefined;
let dir: string | undefined;

afterEach(async () => {
  for (const proc of processes.splice(0)) await proc.kill();
  await nemo?.close();
  await tg?.close();
  redis?.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
  nemo = tg = redis = dir = undefined;
});

/** Keys matching `pattern` (a SCAN pattern from the key map, so under this test's prefix: never another test's). */
async function keysOf(client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

// A session key whose parts are SCAN wildcards: with it the key map's turn keys become patterns.
const ANY_TELEGRAM_SESSION = { platform: 'telegram', chatId: '*', userId: '*' } as const;

/** Every turn key of a Telegram session (lock, waiting queue, queue-full mark). */
function turnPatterns(prefix: string): string[] {
  const keys = createRedisKeys(prefix);
  return [keys.turnLock(ANY_TELEGRAM_SESSION), keys.turnPending(ANY_TELEGRAM_SESSION), keys.turnFull(ANY_TELEGRAM_SESSION)];
}

describe('a bot process killed in the middle of a turn', () => {
  it('when the bot is SIGKILLed while the agent works on a turn, then the next process reports the outcome from the project state and the message reached the agent once', async () => {
    nemo = await startFakeNemo();
    tg = await startFakeTelegram();
    dir = await mkdtemp(join(tmpdir(), 'nvb-midturn-'));
    const { url, prefix: testPrefix } = testRedis();
    const prefix = testPrefix.replace(/:$/, '');
    redis = new Redis(url);
    const env = {
      NEMO_API_URL: nemo.url,
      REDIS_URL: url,
      REDIS_PREFIX: prefix,
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.url,
      // The held turn must not end on the idle clock while the test kills the process.
      TURN_IDLE_TIMEOUT_MS: '120000',
      RECOVERY_FIRST_WAIT_MS: '10',
      RECOVERY_WAIT_MS: '10',
      RECOVERY_MAX_CHECKS: '3',
      LOG_LEVEL: 'info',
    };
    const start = async (name: string): Promise<MainProcess> => {
      const proc = spawnMain({ name, mode: 'bot', port: await freePort(), cwd: dir ?? '.', env });
      processes.push(proc);
      await proc.ready(60_000);
      return proc;
    };

    const first = await start('bot-1');
    // The agent starts editing and is still at work when the process dies.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    nemo.scriptTurn({
      frames: [{ kind: 'event', event: adkTurn().call('edit_multitrack', { action: 'add_text', text: 'Back Again' }) }, { kind: 'wait', until: held }],
      draftAfter: (before: unknown) => withTracks(before, textTrack('Back Again', 0, 3000)),
    });
    const user = tg.user({ languageCode: 'en' });
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'Add the title "Back Again"' });
    await waitFor(
      async () =>
        nemo!.sseCalls.length === 1 &&
        tg!.sent.some((m) => m.history.includes(t('en', 'editing'))) &&
        (await keysOf(redis!, createRedisKeys(prefix).inflight(ANY_TELEGRAM_SESSION))).length === 1,
      { timeoutMs: 20_000, message: 'the turn running at the agent, journaled' },
    );
    await first.kill();

    // The agent finishes while no bot is up; the dead process's heartbeat and turn lock lapse
    // (after 30 s in production; here at once).
    release();
    await nemo.turnsEnded(1);
    for (const key of [...(await keysOf(redis, createRedisKeys(prefix).alive('*'))), ...(await keysOf(redis, createRedisKeys(prefix).turnLock(ANY_TELEGRAM_SESSION)))]) await redis.del(key);

    const second = await start('bot-2');
    await waitFor(() => tg!.sent.some((m) => m.chatId === String(chat.id) && /Your request went through/.test(m.text ?? '')), {
      timeoutMs: 20_000,
      message: 'the outcome, read from the project state',
    });
    // Settled: nothing kept, journaled, locked or queued any more, so nothing can still reach the agent.
    await waitFor(
      async () =>
        (await redis!.hlen(inboxKey(prefix))) === 0 &&
        (await keysOf(redis!, createRedisKeys(prefix).inflight(ANY_TELEGRAM_SESSION))).length === 0 &&
        (await Promise.all(turnPatterns(prefix).map((pattern) => keysOf(redis!, pattern)))).flat().length === 0,
      { timeoutMs: 20_000, message: 'the inbox, the journal and the turn locks empty' },
    );

    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['Add the title "Back Again"']);
    const answer = tg.sent.find((m) => /Your request went through/.test(m.text ?? ''));
    expect(answer?.text).toMatch(/Back Again/);
    expect(tg.sent.filter((m) => m.chatId === String(chat.id) && /Your request went through|couldn't confirm/.test(m.text ?? ''))).toHaveLength(1);
    expect(tg.violations).toEqual([]);
    expect(nemo.violations).toEqual([]);
    for (const token of [tg.token, ...nemo.issuedTokens]) expect(first.output() + second.output()).not.toContain(token);
  }, 180_000);
});
