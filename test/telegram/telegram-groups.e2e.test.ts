import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

describe('telegram groups and forum topics, end to end', () => {
  it('when a member talks without addressing the bot, then nothing is answered; when they mention it, then the answer quotes them', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user();
    const group = tg.group();
    const bot = `@${tg.bot.username}`;

    tg.say(group, alice, { text: 'ideas for a cat video, anyone?' });
    const addressed = tg.say(group, alice, { text: `${bot} ideas for a dog video` });
    const answer = await rig.waitSent(group.id, /Happy to help with: ideas for a dog video/);

    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['ideas for a dog video']);
    expect(answer.replyTo).toBe(addressed.message_id);
    expect(rig.sentTo(group.id).every((m) => m.replyTo === addressed.message_id)).toBe(true);
  });

  it('when two members address the bot in one group, then each gets their own project, and a reply to the bot counts as addressing it', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user();
    const bob = tg.user();
    const group = tg.group();

    tg.say(group, alice, { text: '/start' });
    const ready = await rig.waitSent(group.id, /^Ready!/);
    tg.say(group, bob, { text: `/credits@${tg.bot.username}` });
    await rig.waitSent(group.id, /Credits: 100 available/);
    await waitFor(() => nemo.sessions.size === 2, { message: 'a second project, for bob' });

    // Bob replies to the bot's message addressed to Alice: it is Bob's turn, in Bob's project.
    tg.say(group, bob, { text: 'a sunset over the sea', replyTo: ready.messageId });
    await rig.waitSent(group.id, /Happy to help with: a sunset over the sea/);
    const call = nemo.sseCalls.at(-1);
    const bobSession = [...nemo.sessions.values()].find((s) => s.sessionId === call?.sessionId);
    const aliceFirst = [...nemo.sessions.values()][0];
    expect(bobSession).toBeDefined();
    expect(bobSession?.sessionId).not.toBe(aliceFirst?.sessionId);
  });

  it("when a command names another bot or isn't ours, then the bot stays quiet; /help is answered", async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user();
    const group = tg.group();
    tg.say(group, alice, { text: '/help@some_other_bot' });
    tg.say(group, alice, { text: '/weather' });
    tg.say(group, alice, { text: '/help' });
    await rig.waitSent(group.id, /\/export/);
    await rig.bot.idle();
    expect(rig.sentTo(group.id)).toHaveLength(1);
    expect(nemo.sessions.size).toBe(0);
  });

  it('when a member asks in a forum topic, then every answer and the finished video go to that topic', async () => {
    rig = await startTelegramRig();
    const { tg } = rig;
    const alice = tg.user();
    const forum = tg.group({ forum: true });
    const topic = tg.topic(forum, alice, 'Trailer');
    const other = tg.topic(forum, alice, 'Chit-chat');
    const bot = `@${tg.bot.username}`;

    // In a topic every message "replies" to the topic's first message: not to the bot.
    tg.say(forum, alice, { text: 'just chatting', threadId: other });
    tg.say(forum, alice, { text: `${bot} Generate a video of a city timelapse`, threadId: topic });
    await rig.waitSent(forum.id, /Keep them, or say/);
    tg.say(forum, alice, { text: '/export', threadId: topic });
    await waitFor(() => tg.sent.some((m) => m.kind === 'video'), { timeoutMs: 15_000, message: 'the video' });

    const posted = rig.sentTo(forum.id);
    expect(posted.length).toBeGreaterThan(3);
    expect(posted.every((m) => m.threadId === topic)).toBe(true);
    expect(posted.find((m) => m.kind === 'video')?.threadId).toBe(topic);
    expect(tg.chatActions.filter((a) => a.chatId === String(forum.id)).every((a) => a.threadId === topic)).toBe(true);
    expect(rig.nemo.sseCalls.map((c) => c.text)).toEqual(['Generate a video of a city timelapse']);
  });

  it("when another member presses a button under someone's answer, then only they are told it is not theirs, and nothing happens; the owner's press acts", async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user();
    const bob = tg.user();
    const group = tg.group();
    tg.say(group, alice, { text: `@${tg.bot.username} Generate a video of a city timelapse` });
    const answer = await rig.waitSent(group.id, /Keep them, or say/);
    const status = answer.replyMarkup?.inline_keyboard.flat().find((b) => b.text === 'Status');

    const from = tg.sent.length;
    tg.press(bob, answer, status?.callback_data ?? '');
    await waitFor(() => tg.callbackAnswers.length === 1, { message: 'the button press answered' });
    expect(tg.callbackAnswers[0]?.text).toMatch(/someone else's project/);
    tg.press(alice, answer, status?.callback_data ?? '');
    await rig.waitSent(group.id, /Timeline \(3 tracks\)/, { from });
    await waitFor(() => tg.callbackAnswers.length === 2, { message: "the owner's press answered" });
    expect(tg.callbackAnswers[1]?.text).toBeUndefined();
    // Bob's press posted nothing and made no project for him.
    expect(rig.sentTo(group.id).slice(from).map((m) => m.history[0])).not.toContainEqual(expect.stringMatching(/Setting things up|timeline is empty/));
    expect(nemo.sessions.size).toBe(1);
  });
});
