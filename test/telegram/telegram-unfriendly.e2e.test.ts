import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import type { UnfriendlyMode } from '../fakes/telegram/index.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const REFUSED_EDITS: Array<[string, UnfriendlyMode]> = [
  ['message to edit not found', { edits: 'not-found' }],
  ["message can't be edited", { edits: 'cant-be-edited' }],
  ['a 502', { edits: 'server-error' }],
  ['an answer that is not the Bot API', { unshaped: ['editMessageText'] }],
];

describe('telegram against an unfriendly Bot API, end to end', () => {
  it.each(REFUSED_EDITS)('when every progress edit is refused (%s), then the generation answer still arrives and the agent stream is read to its end', async (_name, mode) => {
    rig = await startTelegramRig({ telegram: { unfriendly: mode } });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });

    const answer = await rig.waitSent(chat.id, /Keep them, or say/, { timeoutMs: 15_000 });
    await nemo.turnsEnded(1);
    await rig.bot.idle();

    expect(answer.replyMarkup?.inline_keyboard.flat().map((b) => b.text)).toContain('Export');
    // The stream was not cut: the agent's work was not cancelled.
    expect(nemo.clientAborts).toEqual([]);
    expect(tg.calls.filter((c) => c.method === 'editMessageText' && c.failed !== undefined).length).toBeGreaterThan(0);
    const texts = rig.sentTo(chat.id).map((m) => m.text ?? '');
    expect(texts.join('\n')).not.toMatch(/Something went wrong/);
    // A progress message that cannot be edited is replaced by a new one for the next step.
    expect(texts).toContain('Working on it…');
    expect(texts.some((text) => /^The raw video is ready/.test(text))).toBe(true);
    expect(rig.logs()).toContain('progress edit failed');
    expect(rig.logs()).not.toContain('turn failed');
  });

  it('when only the final "Done." edit of a plain turn is refused, then the answer still arrives', async () => {
    rig = await startTelegramRig({ telegram: { unfriendly: { edits: 'not-found' } } });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'hello there' });

    await rig.waitSent(chat.id, /Happy to help with: hello there/);
    await rig.bot.idle();
    expect(nemo.clientAborts).toEqual([]);
    const edits = tg.calls.filter((c) => c.method === 'editMessageText');
    expect(edits.map((c) => [c.params.text, c.failed])).toEqual([['Done.', 400]]);
    expect(rig.sentTo(chat.id).map((m) => m.text)).toEqual(['Setting things up…', expect.stringMatching(/^Ready!/), 'Working on it…', expect.stringMatching(/^Happy to help with/)]);
  });

  it.each([400, 500] as const)('when sendVideo is refused with %i, then the user gets the download link and the project link, once, and no "export again"', async (status) => {
    rig = await startTelegramRig({ telegram: { unfriendly: { uploads: status } } });
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });
    await rig.waitSent(chat.id, /Keep them, or say/);
    const from = tg.sent.length;
    tg.say(chat, user, { text: '/export' });

    const link = await rig.waitSent(chat.id, /download link/, { from, timeoutMs: 15_000 });
    const renderId = [...nemo.renders.keys()][0] ?? '';
    expect(link.text).toContain(`${nemo.url}/cdn/${renderId}.mp4`);
    expect(link.text).toMatch(/Project: \S+\/workspace\/claim\?ct=/);
    const progress = rig.sentTo(chat.id).find((m) => m.history[0] === "Rendering… I'll post the progress as it goes.");
    await rig.app.worker?.worker.close();
    expect(progress?.text).toBe('Video ready: sent as a link, since the file could not be uploaded here.');
    // Uploads only: the clip preview before export is a video by URL, which Telegram fetches itself.
    expect(tg.calls.filter((c) => c.method === 'sendVideo' && typeof c.params.video !== 'string').map((c) => c.failed)).toEqual([status]);
    expect(nemo.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(1);
    const after = rig.sentTo(chat.id).slice(from).map((m) => m.text ?? '');
    expect(after.filter((text) => /download link/.test(text))).toHaveLength(1);
    expect(after.join('\n')).not.toMatch(/render failed|try again|"export"/i);
  });
});

describe('telegram button presses, end to end', () => {
  it('when a press in one chat carries the data of a button from an allowed group, then it is refused with a hint and nothing happens in the group', async () => {
    // Only the group may use the bot (the fake's first group has this id): the forger's private chat is not allowed.
    rig = await startTelegramRig({ env: { ALLOWED_CHATS: 'telegram:-1001000000001' } });
    const { tg, nemo } = rig;
    const alice = tg.user();
    const mallory = tg.user();
    const group = tg.group();
    expect(group.id).toBe(-1001000000001);
    tg.say(group, alice, { text: `@${tg.bot.username} hello there` });
    const answer = await rig.waitSent(group.id, /Happy to help with: hello there/);
    const status = answer.replyMarkup?.inline_keyboard.flat().find((b) => b.text === 'Status');
    expect(status?.callback_data).toBeDefined();

    // Mallory's own chat with the bot, where a bot message exists to "press" under.
    const own = tg.privateChat(mallory);
    tg.say(own, mallory, { text: '/help' });
    const refusal = await rig.waitSent(own.id, /private/);
    const before = { group: rig.sentTo(group.id).length, own: rig.sentTo(own.id).length, sse: nemo.sseCalls.length, sessions: nemo.sessions.size };
    tg.press(mallory, refusal, status?.callback_data ?? '');
    await waitFor(() => tg.callbackAnswers.length === 1, { message: 'the forged press answered' });
    await rig.bot.idle();

    expect(tg.callbackAnswers[0]?.text).toMatch(/another chat/);
    expect(rig.sentTo(group.id)).toHaveLength(before.group);
    expect(rig.sentTo(own.id)).toHaveLength(before.own);
    expect(nemo.sessions.size).toBe(before.sessions);
    expect(nemo.sseCalls).toHaveLength(before.sse);
    expect(rig.logs()).toContain('button pressed outside the chat it was posted in');

    // The same button pressed where it was posted still works.
    const from = tg.sent.length;
    tg.press(alice, answer, status?.callback_data ?? '');
    await rig.waitSent(group.id, /Timeline|nothing|empty/i, { from });
  });

  it('when a press comes in an unexpected shape, then it is answered with a short hint and logged, and nothing else happens', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: 'hello there' });
    const answer = await rig.waitSent(chat.id, /Happy to help with/);
    const status = answer.replyMarkup?.inline_keyboard.flat().find((b) => b.text === 'Status');
    const sse = nemo.sseCalls.length;
    const sent = tg.sent.length;
    tg.press(user, answer, status?.callback_data ?? '', { mangle: ({ from: _from, ...rest }) => ({ ...rest, from: { id: 'not-a-number' } }) });
    await waitFor(() => tg.callbackAnswers.length === 1, { message: 'the odd press answered' });
    await rig.bot.idle();

    expect(tg.callbackAnswers[0]?.text).toMatch(/can't read this button/);
    expect(rig.logs()).toContain('button press of an unexpected shape');
    expect(tg.sent).toHaveLength(sent);
    expect(nemo.sseCalls).toHaveLength(sse);
  });
});
