import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { isRedisReady } from '../../src/ops/redis-ready.js';
import { startHealthServer, type HealthServer } from '../../src/ops/health-server.js';
import type { TgChat, TgUser } from '../fakes/telegram/index.js';
import { startClusterTopology, startSentinelTopology, type RedisTopologyHandle } from '../helpers/redis-topologies.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from '../telegram/telegram-harness.js';

const USERS = 20;
/** A render takes this many polls (at 100 ms): it is in flight when the master dies. */
const RENDER_POLLS = 30;
const ANSWER = /Keep them, or say|What changed|Happy to help with/;

interface Person {
  user: TgUser;
  chat: TgChat;
}

let topology: RedisTopologyHandle | undefined;
let rig: TelegramRig | undefined;
let health: HealthServer | undefined;

afterEach(async () => {
  await health?.close();
  if (rig) await closeAndCheck(rig);
  await topology?.stop();
  health = rig = topology = undefined;
});

/** The chats of people not yet answered `count` times, with what the bot posted there (for a failure). */
function unanswered(people: Person[], count: number): string {
  return people
    .filter((p) => rig!.sentTo(p.chat.id).filter((m) => ANSWER.test(m.text ?? '')).length < count)
    .map((p) => `chat ${p.chat.id}:\n${rig!.sentTo(p.chat.id).map((m) => `  ${m.history.join(' ⟶ ')}`).join('\n')}`)
    .join('\n');
}

async function readyz(port: number): Promise<number> {
  const answer = await request(`http://127.0.0.1:${port}/readyz`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  await answer.body.dump();
  return answer.statusCode;
}

describe.each([
  ['Sentinel', startSentinelTopology],
  ['Cluster', startClusterTopology],
] as const)('Redis %s: the master is SIGKILLed during traffic of 20 people with renders in flight', (name, start) => {
  it('then readiness is 503 until a master answers and 200 after, every person is answered once and every video delivered exactly once', async () => {
    topology = await start();
    rig = await startTelegramRig({
      redisUrl: topology.url,
      env: { ...topology.env, RENDER_POLL_INTERVAL_MS: '100', RENDER_MAX_POLLS: '200', LOG_LEVEL: 'info' },
      nemo: { renderScript: { pollsUntilComplete: RENDER_POLLS } },
    });
    const { tg, nemo, app } = rig;
    health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: app.metrics,
      logger: (await import('../../src/log.js')).createLogger({ level: 'silent' }),
      checks: { redis: () => isRedisReady(app.redis) },
    });
    const port = health.port;
    expect(await readyz(port)).toBe(200);

    // Everyone generates a video, then exports it: 20 renders poll NemoVideo for seconds.
    const people: Person[] = Array.from({ length: USERS }, () => {
      const user = tg.user();
      return { user, chat: tg.privateChat(user) };
    });
    for (const [i, p] of people.entries()) tg.say(p.chat, p.user, { text: `Generate a video of scene ${i}` });
    await waitFor(() => people.every((p) => rig!.sentTo(p.chat.id).some((m) => ANSWER.test(m.text ?? ''))), {
      timeoutMs: 120_000,
      message: 'every first answer',
    });
    for (const p of people) tg.say(p.chat, p.user, { text: '/export' });
    await waitFor(() => nemo.renders.size === USERS, { timeoutMs: 60_000, message: 'every render submitted' });
    expect(tg.sent.filter((m) => m.kind === 'video')).toHaveLength(0);

    // Traffic while the master dies: everyone asks for a change.
    for (const [i, p] of people.entries()) tg.say(p.chat, p.user, { text: `Make scene ${i} brighter` });
    const killedAt = Date.now();
    // On a cluster, the master of the render queue's slot (BullMQ's prefix is one hash tag); about a third of the people's keys live there too.
    await topology.killMaster(`{${rig.prefix}}:render`);

    // Readiness: 503 while no master answers, 200 once one does.
    let saw503 = false;
    await waitFor(
      async () => {
        const status = await readyz(port);
        if (status === 503) saw503 = true;
        return saw503 && status === 200;
      },
      { timeoutMs: 120_000, intervalMs: 50, message: '/readyz 503 then 200' },
    );
    const readyAfterMs = Date.now() - killedAt;
    await topology.waitForMaster();

    await waitFor(() => people.every((p) => rig!.sentTo(p.chat.id).filter((m) => ANSWER.test(m.text ?? '')).length >= 2), {
      timeoutMs: 120_000,
      message: 'every second answer',
    }).catch((error: unknown) => {
      const errors = rig!.logs().split('\n').filter((line) => /"level":(40|50)/.test(line)).slice(-15).join('\n');
      throw new Error(`${(error as Error).message}\n${unanswered(people, 2)}\n${errors}`);
    });
    const answeredAfterMs = Date.now() - killedAt;
    await waitFor(() => tg.sent.filter((m) => m.kind === 'video').length >= USERS, { timeoutMs: 120_000, message: 'every video' }).catch(async (error: unknown) => {
      const without = people.filter((p) => !rig!.sentTo(p.chat.id).some((m) => m.kind === 'video'));
      const chats = without.map((p) => `chat ${p.chat.id}:\n${rig!.sentTo(p.chat.id).map((m) => `  ${m.history.join(' ⟶ ')}`).join('\n')}`).join('\n');
      const errors = rig!.logs().split('\n').filter((line) => /"level":(40|50)/.test(line)).slice(-20).join('\n');
      // The whole log, for what the warnings do not show (a hang is silent).
      const logFile = join(tmpdir(), `redis-failover-${name}-${Date.now()}.log`);
      // A hung worker logs nothing: the queue's counts say whether the jobs wait or are gone.
      const counts = await Promise.race([rig!.app.renders.counts(), new Promise((resolve) => setTimeout(() => resolve('no answer in 5 s'), 5_000))]);
      writeFileSync(logFile, rig!.logs());
      throw new Error(`${(error as Error).message}\n${chats}\n${errors}\nrender queue: ${JSON.stringify(counts)}\nfull log: ${logFile}`);
    });
    // Nothing more may come: the queue drains with no job left to deliver a second copy.
    await waitFor(async () => (await app.renders.inFlight()) === 0, { timeoutMs: 60_000, message: 'the render queue drained' });

    for (const p of people) {
      const sent = rig.sentTo(p.chat.id);
      expect(sent.filter((m) => ANSWER.test(m.text ?? '')), `chat ${p.chat.id}`).toHaveLength(2);
      expect(sent.filter((m) => m.kind === 'video'), `chat ${p.chat.id}`).toHaveLength(1);
    }
    const videos = tg.sent.filter((m) => m.kind === 'video');
    expect(new Set(videos.map((v) => v.file?.filename)).size).toBe(USERS);
    // Each text reached the agent once.
    const texts = nemo.sseCalls.map((c) => c.text);
    expect(texts).toHaveLength(new Set(texts).size);
    expect(texts).toHaveLength(2 * USERS);

    console.log(
      `[redis-failover] ${name}: /readyz 200 again ${readyAfterMs} ms after the SIGKILL; every person answered ${answeredAfterMs} ms after it`,
    );

    await health.close();
    health = undefined;
    await closeAndCheck(rig);
    rig = undefined;
    await topology.stop();
    topology = undefined;
  }, 300_000);
});
