import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const MONTH_SECONDS = 30 * 86_400;

/** Every key under `prefix`, with its TTL in seconds (-1: none). */
async function keysWithTtl(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) found.set(key, await redis.ttl(key));
  } while (cursor !== '0');
  return found;
}

describe('every key has a TTL or a bound, end to end', () => {
  it('when a person gets credits, chats, presses buttons and exports, then every key they leave expires within the session TTL; only BullMQ and the inbox keep bounded keys without one; no key per button', async () => {
    rig = await startTelegramRig();
    const { tg } = rig;
    const redis = new Redis(rig.redisUrl);
    clients.push(redis);
    const user = tg.user();
    const chat = tg.privateChat(user);

    tg.say(chat, user, { text: '/credits' });
    await rig.waitSent(chat.id, /^Credits: \d+ available/);
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });
    const answer = await rig.waitSent(chat.id, /Keep them, or say/);
    const status = answer.replyMarkup?.inline_keyboard.flat().find((b) => b.text === 'Status')?.callback_data ?? '';
    let from = tg.sent.length;
    tg.press(user, answer, status);
    await rig.waitSent(chat.id, /Timeline \(3 tracks\)/, { from });
    from = tg.sent.length;
    tg.say(chat, user, { text: '/export' });
    await waitFor(() => tg.sent.slice(from).some((m) => m.kind === 'video'), { timeoutMs: 15_000, message: 'the video' });
    await waitFor(async () => (await rig?.app.renders.inFlight()) === 0, { timeoutMs: 15_000, message: 'the render job done' });

    const keys = await keysWithTtl(redis, rig.prefix);
    const prefix = rig.prefix;
    const rest = (key: string) => key.slice(prefix.length).replace(/^:/, '');
    const family = (key: string) => rest(key).split(':').slice(0, 2).join(':');
    // BullMQ's keys are bounded by removeOnComplete/removeOnFail; the inbox holds messages in flight.
    const untimed = [...keys].filter(([key, ttl]) => ttl === -1 && !/^(render:|inbox$)/.test(rest(key)));
    expect(untimed).toEqual([]);
    // A day's people count outlives a session by up to two days: /stats unions the days of the session TTL.
    const limit = (key: string) => (rest(key).startsWith('stats:people-hll:') ? MONTH_SECONDS + 2 * 86_400 : MONTH_SECONDS);
    for (const [key, ttl] of keys) if (ttl !== -1) expect({ key, ttl: ttl <= limit(key) }).toEqual({ key, ttl: true });
    const families = new Set([...keys.keys()].map(family));
    // The person's identity is there, with a TTL (renewed on use), and the buttons left nothing.
    expect([...families].some((name) => name.startsWith('identity:'))).toBe(true);
    expect([...families].filter((name) => name.startsWith('tg:button') || name.startsWith('discord:buttons'))).toEqual([]);
  });
});
