import { afterEach, describe, expect, it } from 'vitest';
import type { TgChat } from '../fakes/telegram/index.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const CLAIM = /workspace\/claim\?ct=/;
const TOKEN = 'nv_personal_TOKEN_0123456789abcdef';

/** Every call the bot made into the group (sends, edits, captions, keyboards), as sent on the wire. */
function wireTo(r: TelegramRig, group: TgChat): string {
  return r.tg.calls
    .filter((c) => c.chatId === String(group.id))
    .map((c) => JSON.stringify(c.params))
    .join('\n');
}

/** The URL button of a message, if it has one. */
function urlButton(r: TelegramRig, group: TgChat, pattern: RegExp): string {
  const message = r.sentTo(group.id).find((m) => pattern.test(m.text ?? ''));
  const url = message?.replyMarkup?.inline_keyboard.flat().find((b) => b.url !== undefined)?.url;
  if (url === undefined) throw new Error(`no URL button on a message matching ${pattern}`);
  return url;
}

describe('personal links in a Telegram group', () => {
  it('when a person who started the bot asks for /status in a group, then the link comes in their private chat and the group reads only the timeline and a note', async () => {
    const r = (rig = await startTelegramRig());
    const { tg } = r;
    const alice = tg.user();
    const dm = tg.privateChat(alice);
    const group = tg.group();

    tg.say(group, alice, { text: '/status' });
    const direct = await r.waitSent(dm.id, CLAIM);
    expect(direct.text).toMatch(/Open the project in your browser: \S+workspace\/claim\?ct=clm_/);
    await r.waitSent(group.id, /I've sent you the link in a private message/);
    await r.bot.idle();
    expect(wireTo(r, group)).not.toMatch(CLAIM);
  });

  it('when a person who never started the bot asks, then the group gets a button to a deep link, and pressing Start there brings the link into the private chat', async () => {
    const r = (rig = await startTelegramRig());
    const { tg } = r;
    const bob = tg.user({ languageCode: 'zh-hans' });
    const group = tg.group();

    tg.say(group, bob, { text: '/new' });
    await r.waitSent(group.id, /点击下面的按钮/);
    const link = urlButton(r, group, /点击下面的按钮/);
    const url = new URL(link);
    expect(`${url.origin}${url.pathname}`).toBe(`https://t.me/${tg.bot.username ?? ''}`);
    const payload = url.searchParams.get('start') ?? '';
    // Opaque and short: never the link, never a token.
    expect(payload).toMatch(/^l[A-Za-z0-9_-]{16}$/);
    expect(tg.calls.some((c) => c.method === 'sendMessage' && c.chatId === String(bob.id) && c.failed === 403)).toBe(true);
    expect(wireTo(r, group)).not.toMatch(CLAIM);
    const keys = await r.app.redis.keys(createRedisKeys(r.prefix).telegramPrivateLink('*'));
    expect(keys).toHaveLength(1);
    expect(await r.app.redis.ttl(keys[0] ?? '')).toBeGreaterThan(0);

    tg.openDeepLink(bob, link);
    const sent = await r.waitSent(bob.id, CLAIM);
    expect(sent.text).toMatch(/已开始新项目/);
    await r.bot.idle();
    expect(wireTo(r, group)).not.toMatch(CLAIM);
    expect(r.nemo.sseCalls).toEqual([]);
  });

  it('when someone else opens the deep link, or a forged or used one arrives, then each is answered kindly and no link is given', async () => {
    const r = (rig = await startTelegramRig());
    const { tg } = r;
    const bob = tg.user();
    const carol = tg.user();
    const group = tg.group();
    tg.say(group, bob, { text: '/status' });
    await r.waitSent(group.id, /press the button/);
    const link = urlButton(r, group, /press the button/);

    tg.openDeepLink(carol, link);
    await r.waitSent(carol.id, /meant for someone else/);
    tg.openDeepLink(carol, `https://t.me/${tg.bot.username ?? ''}?start=lAAAAAAAAAAAAAAAA`);
    await r.waitSent(carol.id, /expired or was already sent/);
    tg.openDeepLink(bob, link);
    await r.waitSent(bob.id, CLAIM);
    const from = tg.sent.length;
    tg.openDeepLink(bob, link);
    await r.waitSent(bob.id, /expired or was already sent/, { from });
    await r.bot.idle();
    expect(r.sentTo(carol.id).map((m) => m.text ?? '').join('\n')).not.toMatch(CLAIM);
    expect(wireTo(r, group)).not.toMatch(CLAIM);
  });

  it('when a chat turn in a group runs out of credits (2001), then the group reads that without the ?bind= link, and the person gets the link privately', async () => {
    const r = (rig = await startTelegramRig());
    const { tg, nemo } = r;
    const alice = tg.user();
    const dm = tg.privateChat(alice);
    const group = tg.group();
    tg.say(group, alice, { text: '/credits' });
    await r.waitSent(group.id, /100 available/);
    nemo.failNext('run_sse', { code: 2001, message: 'insufficient credits' });
    tg.say(group, alice, { text: `@${tg.bot.username ?? ''} make it brighter` });

    await r.waitSent(group.id, /You're out of credits\. Register to get more\.\n\nI've sent you the link in a private message/);
    const userId = [...nemo.sessions.values()][0]?.userId ?? 'unknown';
    const direct = await r.waitSent(dm.id, /bind=/);
    expect(direct.text).toContain(`/?bind=${userId}`);
    await r.bot.idle();
    expect(wireTo(r, group)).not.toContain('bind=');
  });

  it('when a video is exported in a group, then its caption carries no project link and the person gets the link privately', async () => {
    const r = (rig = await startTelegramRig());
    const { tg } = r;
    const alice = tg.user();
    const dm = tg.privateChat(alice);
    const group = tg.group();
    const bot = `@${tg.bot.username ?? ''}`;
    tg.say(group, alice, { text: `${bot} Generate a video of a city timelapse` });
    await r.waitSent(group.id, /Keep them, or say/);
    tg.say(group, alice, { text: '/export' });

    const video = await r.waitSent(group.id, /^Video ready: v1\. Reply to this message to change it\.$/, { timeoutMs: 15_000 });
    expect(video.kind).toBe('video');
    await r.waitSent(dm.id, /Open the project in your browser: \S+workspace\/claim\?ct=/);
    await r.waitSent(group.id, /I've sent you the link in a private message/);
    expect(wireTo(r, group)).not.toMatch(CLAIM);
  });
});

describe('/login in a Telegram group', () => {
  it('when a person posts /login with a token (without @botname), then the message is deleted and the token is never echoed', async () => {
    const r = (rig = await startTelegramRig());
    const { tg } = r;
    const alice = tg.user();
    const group = tg.group();
    const posted = tg.say(group, alice, { text: `/login ${TOKEN}` });

    await r.waitSent(group.id, /I deleted your message/);
    expect(tg.calls.find((c) => c.method === 'deleteMessage')?.params).toMatchObject({ chat_id: String(group.id), message_id: posted.message_id });
    expect(wireTo(r, group)).not.toContain(TOKEN);
    expect(r.logs()).not.toContain(TOKEN);
  });

  it('when the bot may not delete the message, then it says so and tells them to revoke the token, and never echoes it', async () => {
    const r = (rig = await startTelegramRig());
    const { tg } = r;
    const alice = tg.user();
    const group = tg.group();
    tg.failNext('deleteMessage', { code: 400, description: "Bad Request: message can't be deleted" });
    tg.say(group, alice, { text: `/login ${TOKEN}` });

    await r.waitSent(group.id, /couldn't delete your message/);
    expect(wireTo(r, group)).not.toContain(TOKEN);
    expect(r.logs()).not.toContain(TOKEN);
  });
});
