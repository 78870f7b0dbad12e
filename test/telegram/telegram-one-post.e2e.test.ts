import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { adkTurn } from '../fakes/nemo/index.js';
import { startPausableRedis, type PausableRedis } from '../helpers/pausable-redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;
// A test that pauses Redis has a server of its own.
let ownRedis: PausableRedis | undefined;

afterEach(async () => {
  const current = rig;
  const own = ownRedis;
  rig = undefined;
  ownRedis = undefined;
  try {
    await own?.unpause();
    if (current) await closeAndCheck(current);
  } finally {
    await own?.stop();
  }
});

// Long enough that no turn of the fake agent outlasts it on a loaded machine: the quick-answer
// cases then check the posts, not the machine's speed. The slow case sets a short delay of its own.
const QUICK = { PROGRESS_DELAY_MS: '30000' };

describe('telegram: one post for a quick answer, end to end', () => {
  it('when a new user first asks for credits, then the answer is the only post, with the welcome line, after "typing"', async () => {
    rig = await startTelegramRig({ env: QUICK });
    const { tg } = rig;
    const user = tg.user({ languageCode: 'en-US' });
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/credits' });

    const answer = await rig.waitSent(chat.id, /Credits/);
    await rig.bot.idle();
    expect(rig.sentTo(chat.id)).toHaveLength(1);
    expect(answer.history).toHaveLength(1);
    expect(answer.text).toMatch(/\n\nWelcome! I make and edit videos/);
    expect(answer.text).not.toMatch(/Setting things up|Ready!/);
    const typing = tg.chatActions.filter((a) => a.chatId === String(chat.id) && a.action === 'typing');
    expect(typing.length).toBeGreaterThan(0);
    expect(typing[0]?.at).toBeLessThanOrEqual(answer.at);
  });

  it("when a new user's first message is a prompt, then its answer comes first and is the only post", async () => {
    rig = await startTelegramRig({ env: QUICK });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'hello there' });

    await rig.waitSent(chat.id, /Happy to help with: hello there/);
    await nemo.turnsEnded(1);
    await rig.bot.idle();
    const posts = rig.sentTo(chat.id);
    expect(posts.map((m) => m.history)).toEqual([[expect.stringMatching(/^Happy to help with: hello there[\s\S]*\n\nWelcome! .*\/help/)]]);
    expect(tg.calls.filter((c) => c.method === 'editMessageText')).toEqual([]);
  });

  it('when /start is the first message, then the welcome is the one answer; a quick chat turn after it is one post without the welcome line', async () => {
    rig = await startTelegramRig({ env: QUICK });
    const { tg, nemo } = rig;
    const user = tg.user({ languageCode: 'zh-hans' });
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/start' });
    const welcome = await rig.waitSent(chat.id, /你好/);
    expect(welcome.text).toMatch(/\/help/);
    expect(rig.sentTo(chat.id)).toHaveLength(1);

    const from = tg.sent.length;
    tg.say(chat, user, { text: '你好' });
    await nemo.turnsEnded(1);
    await rig.waitSent(chat.id, /./, { from });
    await rig.bot.idle();
    const after = tg.sent.slice(from).filter((m) => m.chatId === String(chat.id));
    expect(after).toHaveLength(1);
    expect(after[0]?.history).toHaveLength(1);
    expect(after[0]?.text).not.toMatch(/欢迎/);
  });

  it('when the agent takes longer than the delay, then one progress message shows, ends "Done.", and the answer is a second post', async () => {
    rig = await startTelegramRig({ env: { PROGRESS_DELAY_MS: '200' } });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    nemo.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adkTurn().text('Slow answer.') }] });
    tg.say(chat, user, { text: 'plan a long video' });

    const progress = await rig.waitSent(chat.id, /^Working on it…$/);
    expect(rig.sentTo(chat.id)).toHaveLength(1);
    release();
    const answer = await rig.waitSent(chat.id, /Slow answer\./);
    await rig.bot.idle();
    expect(rig.sentTo(chat.id).map((m) => m.messageId)).toEqual([progress.messageId, answer.messageId]);
    expect(progress.text).toBe('Done.');
    expect(answer.text).toMatch(/Welcome!/);
  });

  it('when a person floods a chat with messages, then the typing indicator goes out once, not once per message', async () => {
    rig = await startTelegramRig({ env: QUICK });
    const { tg } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    for (let i = 0; i < 30; i++) tg.say(chat, user, { text: `/credits ${i}` });
    await rig.waitSent(chat.id, /Credits/);
    await rig.bot.idle();
    const typing = tg.chatActions.filter((a) => a.chatId === String(chat.id) && a.action === 'typing');
    expect(typing.length).toBeGreaterThanOrEqual(1);
    // 30 messages arrive within a few seconds: one indicator every 4 s at most.
    expect(typing.length).toBeLessThanOrEqual(3);
  });

  it('when Telegram refuses the typing indicator (a 400 of its own), then the answer still comes, once', async () => {
    rig = await startTelegramRig({ env: QUICK });
    const { tg } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.failNext('sendChatAction', { code: 400, description: 'Bad Request: not enough rights to send chat actions' });
    tg.say(chat, user, { text: '/credits' });
    await rig.waitSent(chat.id, /Credits/);
    await rig.bot.idle();
    expect(tg.calls.some((c) => c.method === 'sendChatAction')).toBe(true);
    expect(rig.sentTo(chat.id)).toHaveLength(1);
    expect(rig.logs()).toMatch(/typing indicator failed/);
  });

  it('when a server that is not Telegram answers the typing indicator with a page instead of JSON, then the answer still comes, once, and the log names no token', async () => {
    rig = await startTelegramRig({ env: QUICK });
    const { tg } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.setUnfriendly({ unshaped: ['sendChatAction'] });
    tg.say(chat, user, { text: 'hello there' });
    await rig.waitSent(chat.id, /Happy to help with: hello there/);
    await rig.bot.idle();
    expect(tg.calls.some((c) => c.method === 'sendChatAction')).toBe(true);
    expect(rig.sentTo(chat.id)).toHaveLength(1);
    expect(rig.logs()).toMatch(/typing indicator failed/);
    expect(rig.logs()).not.toContain(tg.token);
  });
});

describe('telegram: the first visible sign comes before the bot touches Redis', () => {
  it('when Redis holds every write, then "typing…" still shows at once, before the update is even marked seen; the answer follows once Redis lets go', async () => {
    const own = (ownRedis = await startPausableRedis());
    const { admin } = own;
    rig = await startTelegramRig({ env: QUICK, redisUrl: own.url, worker: false });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    const handedOut: number[] = [];
    tg.onHandOut((update) => handedOut.push(update.update_id));

    // Reads still go; the update's first sight (a script) and everything after it wait.
    await own.pauseWrites();
    tg.say(chat, user, { text: 'hello there' });
    await waitFor(() => tg.chatActions.some((a) => a.chatId === String(chat.id) && a.action === 'typing'), { message: '"typing…" while Redis is paused' });
    const seen = createRedisKeys(rig.prefix).telegramUpdate(tg.bot.id, handedOut[0] ?? 0);
    expect(handedOut).toHaveLength(1);
    expect(await admin.exists(seen)).toBe(0);
    expect(rig.sentTo(chat.id)).toEqual([]);
    expect(nemo.sseCalls).toEqual([]);

    await own.unpause();
    await rig.waitSent(chat.id, /Happy to help with: hello there/);
    await rig.bot.idle();
    expect(await admin.exists(seen)).toBe(1);
    expect(rig.sentTo(chat.id)).toHaveLength(1);
    // The engine's own indicator is the same one, throttled: one for the message.
    expect(tg.chatActions.filter((a) => a.chatId === String(chat.id) && a.action === 'typing')).toHaveLength(1);
  });

  it('when a group member talks without addressing the bot, then no "typing…" shows there; a mention in another group shows it once', async () => {
    rig = await startTelegramRig({ env: QUICK, worker: false });
    const { tg } = rig;
    const alice = tg.user();
    const quiet = tg.group();
    const asked = tg.group();
    tg.say(quiet, alice, { text: 'ideas for a cat video, anyone?' });
    tg.say(asked, alice, { text: `@${tg.bot.username} ideas for a dog video` });

    // Updates are handled in order: once the second is answered, the first was looked at.
    await rig.waitSent(asked.id, /Happy to help with: ideas for a dog video/);
    await rig.bot.idle();
    expect(tg.chatActions.filter((a) => a.chatId === String(quiet.id))).toEqual([]);
    expect(rig.sentTo(quiet.id)).toEqual([]);
    expect(tg.chatActions.filter((a) => a.chatId === String(asked.id) && a.action === 'typing')).toHaveLength(1);
  });

  it('when someone the allow-list keeps out writes, then no "typing…" shows; they get the one polite refusal', async () => {
    rig = await startTelegramRig({ env: { ...QUICK, ALLOWED_USERS: 'telegram:1' }, worker: false });
    const { tg } = rig;
    const stranger = tg.user();
    const chat = tg.privateChat(stranger);
    tg.say(chat, stranger, { text: '/credits' });

    await rig.waitSent(chat.id, /this bot is private/);
    await rig.bot.idle();
    expect(tg.chatActions.filter((a) => a.chatId === String(chat.id))).toEqual([]);
    expect(rig.sentTo(chat.id)).toHaveLength(1);
  });
});
