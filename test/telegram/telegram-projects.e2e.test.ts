import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { adkTurn } from '../fakes/nemo/index.js';
import type { BotMessage } from '../fakes/telegram/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

/** Waits for the next video posted into the chat after index `from` of everything sent. */
async function nextVideo(r: TelegramRig, chatId: number, from: number): Promise<BotMessage> {
  let video: BotMessage | undefined;
  await waitFor(
    () => {
      video = r.tg.sent.slice(from).find((m) => m.kind === 'video' && m.chatId === String(chatId));
      return video !== undefined;
    },
    { timeoutMs: 20_000, message: 'the video' },
  );
  return video as BotMessage;
}

describe('telegram projects: reply to continue, /projects, versions', () => {
  it('when a person replies to the first project\'s video after /new, then the reply reaches the first project\'s session, and its exports are numbered per project', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user({ languageCode: 'en-US' });
    const chat = tg.privateChat(alice);

    tg.say(chat, alice, { text: 'Generate a video of a city timelapse' });
    await rig.waitSent(chat.id, /Keep them, or say/);
    const first = nemo.sseCalls[0]?.sessionId;
    expect(first).toBeDefined();

    let mark = tg.sent.length;
    tg.say(chat, alice, { text: '/export' });
    const v1 = await nextVideo(rig, chat.id, mark);
    expect(v1.caption).toMatch(/^Video ready: v1\. Reply to this message to change it\. Project: https:\/\//);

    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/new' });
    await rig.waitSent(chat.id, /^Started a fresh project/, { from: mark });
    tg.say(chat, alice, { text: 'Generate a video of a beach at dawn' });
    await rig.waitSent(chat.id, /Keep them, or say/, { from: mark });
    const second = nemo.sseCalls.at(-1)?.sessionId;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);

    // The reply to the first project's video goes to the first project, which is current again.
    mark = tg.sent.length;
    tg.say(chat, alice, { text: 'make the title bigger', replyTo: v1.messageId });
    await rig.waitSent(chat.id, /^Back to “Generate a video of a city timelapse”/, { from: mark });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'make the title bigger'), { message: 'the reply relayed' });
    expect(nemo.sseCalls.find((c) => c.text === 'make the title bigger')?.sessionId).toBe(first);
    await rig.waitSent(chat.id, /Happy to help with: make the title bigger|What changed|Done/, { from: mark });

    // Its next export is its v2; the beach project has none.
    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/export' });
    const v2 = await nextVideo(rig, chat.id, mark);
    expect(v2.caption).toMatch(/^Video ready: v2\./);

    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/projects' });
    const list = await rig.waitSent(chat.id, /^Your projects in this chat/, { from: mark });
    const lines = (list.text ?? '').split('\n');
    expect(lines[1]).toMatch(/^1\. Generate a video of a city timelapse · just now · 2 exports \(current\)$/);
    expect(lines[2]).toMatch(/^2\. Generate a video of a beach at dawn · just now · 0 exports$/);

    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/status' });
    const status = await rig.waitSent(chat.id, /^Project: /, { from: mark });
    expect(status.text).toMatch(/^Project: Generate a video of a city timelapse\nVersions: v1, v2\n/);

    // The video of v2 answers a reply too, and the beach project is still reachable with /switch.
    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/switch 2' });
    await rig.waitSent(chat.id, /^Switched to “Generate a video of a beach at dawn”/, { from: mark });
    tg.say(chat, alice, { text: 'add seagulls' });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'add seagulls'), { message: 'the message after the switch' });
    expect(nemo.sseCalls.find((c) => c.text === 'add seagulls')?.sessionId).toBe(second);
    await rig.waitSent(chat.id, /add seagulls|What changed|Done/, { from: mark });

    mark = tg.sent.length;
    tg.say(chat, alice, { text: 'slower cuts', replyTo: v2.messageId });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'slower cuts'), { message: 'the reply to v2' });
    expect(nemo.sseCalls.find((c) => c.text === 'slower cuts')?.sessionId).toBe(first);
    await rig.waitSent(chat.id, /slower cuts|What changed|Done/, { from: mark });

    // A reply to the beach project's clip preview goes to the beach project.
    const previews = rig.sentTo(chat.id).filter((m) => /^Raw clip, as generated/.test(m.caption ?? m.text ?? ''));
    expect(previews).toHaveLength(2);
    mark = tg.sent.length;
    tg.say(chat, alice, { text: 'warmer colours', replyTo: previews[1]?.messageId ?? 0 });
    await rig.waitSent(chat.id, /^Back to “Generate a video of a beach at dawn”/, { from: mark });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'warmer colours'), { message: 'the reply to the preview' });
    expect(nemo.sseCalls.find((c) => c.text === 'warmer colours')?.sessionId).toBe(second);
    await rig.waitSent(chat.id, /warmer colours|What changed|Done/, { from: mark });

    // The map holds ids only, never the message's text, and expires with the project: in a
    // private chat an entry is the project's ref alone (the owner is the map's usual one).
    const redis = new Redis(rig.redisUrl);
    try {
      const key = createRedisKeys(rig.prefix).messageMap('telegram', String(chat.id));
      expect(await redis.hget(key, String(v2.messageId))).toMatch(/^[A-Za-z0-9_-]{8}$/);
      expect(await redis.hget(key, '')).toBe(String(alice.id));
      expect(await redis.object('ENCODING', key)).toBe('listpack');
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(rig.config.sessionTtlDays * 86_400);
    } finally {
      redis.disconnect();
    }
  });

  it('when an export\'s render fails, then its number is given back: the next export is that version again and /status lists only videos that came', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user({ languageCode: 'en' });
    const chat = tg.privateChat(alice);
    tg.say(chat, alice, { text: 'Generate a video of a mountain lake' });
    await rig.waitSent(chat.id, /Keep them, or say/);

    let mark = tg.sent.length;
    tg.say(chat, alice, { text: '/export' });
    expect((await nextVideo(rig, chat.id, mark)).caption).toMatch(/^Video ready: v1\./);

    // v2's render fails on the service's side.
    nemo.scriptRender({ fail: 'encoder crashed' });
    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/export' });
    await rig.waitSent(chat.id, /^The render failed \(.*encoder crashed.*\)\. Say "export" to try again\.$/, { from: mark });

    // The person tries again once the failed job has ended (until then they are told a render runs).
    let retried: BotMessage | undefined;
    await waitFor(
      async () => {
        mark = tg.sent.length;
        tg.say(chat, alice, { text: '/export' });
        const answer = await rig?.waitSent(chat.id, /^This project is already rendering|^Rendering… I'll post the progress/, { from: mark });
        if (answer && !/already rendering/.test(answer.text ?? '')) retried = answer;
        return retried !== undefined;
      },
      { message: 'the export queued again after the failure' },
    );
    expect((await nextVideo(rig, chat.id, mark)).caption).toMatch(/^Video ready: v2\./);

    mark = tg.sent.length;
    tg.say(chat, alice, { text: '/status' });
    const status = await rig.waitSent(chat.id, /^Project: /, { from: mark });
    expect(status.text).toMatch(/\nVersions: v1, v2\n/);
  });

  it("when a group member replies to someone else's video, then it is their own message in their own project and never reaches the owner's", async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user();
    const bob = tg.user();
    const group = tg.group();
    const bot = `@${tg.bot.username}`;

    tg.say(group, alice, { text: `${bot} Generate a video of a city timelapse` });
    await rig.waitSent(group.id, /Keep them, or say/);
    const aliceSession = nemo.sseCalls[0]?.sessionId;
    let mark = tg.sent.length;
    tg.say(group, alice, { text: '/export' });
    const video = await nextVideo(rig, group.id, mark);
    expect(video.caption).toMatch(/^Video ready: v1\. Reply to this message to change it\.$/);

    mark = tg.sent.length;
    tg.say(group, bob, { text: 'make it black and white', replyTo: video.messageId });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'make it black and white'), { message: "bob's message" });
    const call = nemo.sseCalls.find((c) => c.text === 'make it black and white');
    expect(call?.sessionId).not.toBe(aliceSession);
    expect(nemo.sseCalls.filter((c) => c.sessionId === aliceSession).map((c) => c.text)).toEqual(['Generate a video of a city timelapse']);
    await rig.waitSent(group.id, /make it black and white|What changed|Done/, { from: mark });
    expect(rig.sentTo(group.id).some((m) => /^Back to/.test(m.text ?? ''))).toBe(false);

    // Alice's own reply to the same video continues her project.
    mark = tg.sent.length;
    tg.say(group, alice, { text: 'add a title', replyTo: video.messageId });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'add a title'), { message: "alice's reply" });
    expect(nemo.sseCalls.find((c) => c.text === 'add a title')?.sessionId).toBe(aliceSession);
    await rig.waitSent(group.id, /add a title|What changed|Done/, { from: mark });
  });
  it('when a reply to a project waits behind a running turn and the person switches meanwhile, then it still runs in the project it replied to', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user();
    const chat = tg.privateChat(alice);
    tg.say(chat, alice, { text: 'Generate a video of a city timelapse' });
    const cityAnswer = await rig.waitSent(chat.id, /Keep them, or say/);
    const city = nemo.sseCalls[0]?.sessionId;
    let mark = tg.sent.length;
    tg.say(chat, alice, { text: '/new' });
    await rig.waitSent(chat.id, /^Started a fresh project/, { from: mark });
    tg.say(chat, alice, { text: 'Generate a video of a beach at dawn' });
    await rig.waitSent(chat.id, /Keep them, or say/, { from: mark });
    const beach = nemo.sseCalls.at(-1)?.sessionId;

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    nemo.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adkTurn().text('Slow answer.') }] });
    mark = tg.sent.length;
    tg.say(chat, alice, { text: 'add seagulls' });
    await rig.waitSent(chat.id, /Working on it/, { from: mark });
    tg.say(chat, alice, { text: 'make the title bigger', replyTo: cityAnswer.messageId });
    await rig.waitSent(chat.id, /^Back to “Generate a video of a city timelapse”/, { from: mark });
    await rig.waitSent(chat.id, /as soon as the current step finishes|queued/, { from: mark });
    // Switched back to the beach before the queued reply runs.
    tg.say(chat, alice, { text: '/switch 2' });
    await rig.waitSent(chat.id, /^Switched to “Generate a video of a beach at dawn”/, { from: mark });

    release();
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'make the title bigger'), { timeoutMs: 15_000, message: 'the queued reply' });
    expect(nemo.sseCalls.find((c) => c.text === 'add seagulls')?.sessionId).toBe(beach);
    expect(nemo.sseCalls.find((c) => c.text === 'make the title bigger')?.sessionId).toBe(city);
    await rig.waitSent(chat.id, /make the title bigger|What changed|Done/, { from: mark });
  });
});
