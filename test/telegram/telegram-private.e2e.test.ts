import { afterEach, describe, expect, it } from 'vitest';
import { adkTurn } from '../fakes/nemo/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  if (!rig) return;
  const current = await closeAndCheck(rig);
  rig = undefined;
  // No bearer token and no bot token in any message, caption or log line.
  const written = current.tg.sent.map((m) => m.history.join('\n')).join('\n') + current.logs();
  expect(written).not.toContain(current.tg.token);
  expect(written).not.toContain(current.tg.token.split(':')[1]);
  for (const token of current.nemo.issuedTokens) expect(written).not.toContain(token);
});

describe('telegram private chat, end to end', () => {
  it('when a user goes from /start to export, then the MP4 arrives streamed, with the project link, and the progress message ends "Video ready"', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const alice = tg.user({ languageCode: 'en-US' });
    const chat = tg.privateChat(alice);

    tg.say(chat, alice, { text: '/start' });
    await rig.waitSent(chat.id, /^Ready!/);
    expect(rig.sentTo(chat.id).map((m) => m.text)).toEqual(['Setting things up…', expect.stringMatching(/^Ready!/)]);

    tg.say(chat, alice, { text: 'Generate a video of a city timelapse' });
    const answer = await rig.waitSent(chat.id, /Keep them, or say/);
    // The answer carries the inline keyboard: Export, Status, Credits, New project.
    const labels = answer.replyMarkup?.inline_keyboard.flat().map((b) => b.text);
    expect(labels).toEqual(['Export', 'Status', 'Credits', 'New project']);
    for (const button of answer.replyMarkup?.inline_keyboard.flat() ?? []) expect(Buffer.byteLength(button.callback_data ?? '')).toBeLessThanOrEqual(64);
    expect(nemo.sseCalls.map((c) => c.text)).toEqual(['Generate a video of a city timelapse']);

    const before = tg.sent.length;
    tg.say(chat, alice, { text: '/export' });
    const video = await waitFor(() => tg.sent.slice(before).some((m) => m.kind === 'video'), { timeoutMs: 15_000, message: 'the video' }).then(
      () => tg.sent.slice(before).find((m) => m.kind === 'video'),
    );
    const [renderId] = [...nemo.renders.keys()];
    expect(video?.file?.sha256).toBe(nemo.outputSha256(renderId ?? ''));
    // Named after the project (the session, as the draft has no title): issue 15.
    expect(video?.file?.filename).toMatch(/^nemovideo-\d+-[A-Za-z0-9]{1,6}\.mp4$/);
    expect(video?.supportsStreaming).toBe(true);
    expect(video?.caption).toMatch(/^Video ready\. Project: https:\/\/nemovideo\.com\/workspace\/claim\?ct=clm_/);
    expect(video?.chatId).toBe(String(chat.id));
    // "Rendering…" was edited in place and ends saying the video is ready.
    const progress = rig.sentTo(chat.id).find((m) => m.history[0] === "Rendering… I'll post the progress as it goes.");
    await waitFor(() => progress?.text === 'Video ready.', { message: 'the progress message to end "Video ready."' });
    expect(progress?.history).toContain('Rendered. Sending the video…');
    expect(tg.chatActions.some((a) => a.chatId === String(chat.id) && a.action === 'upload_video')).toBe(true);
    expect(tg.sent.filter((m) => m.kind === 'video')).toHaveLength(1);
  });

  it('when the bot starts, then the command menu is registered in English and Chinese', async () => {
    rig = await startTelegramRig();
    const en = rig.tg.commands.get('default') ?? [];
    const zh = rig.tg.commands.get('zh') ?? [];
    expect(en.map((c) => c.command)).toEqual(['start', 'help', 'new', 'export', 'credits', 'status']);
    expect(zh.map((c) => c.command)).toEqual(['start', 'help', 'new', 'export', 'credits', 'status']);
    expect(zh.every((c) => /[\u4e00-\u9fff]/.test(c.description))).toBe(true);
    expect(en.every((c) => /^[A-Z]/.test(c.description))).toBe(true);
  });

  it('when a user whose Telegram is in Chinese asks for credits, then the answer is in Chinese', async () => {
    rig = await startTelegramRig();
    const li = rig.tg.user({ languageCode: 'zh-hans' });
    const chat = rig.tg.privateChat(li);
    rig.tg.say(chat, li, { text: '/credits' });
    await rig.waitSent(chat.id, /积分：可用 100/);
  });

  it("when one user's turn is held by the agent, then another user's /help is answered meanwhile", async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const slow = tg.user();
    const quick = tg.user();
    const slowChat = tg.privateChat(slow);
    const quickChat = tg.privateChat(quick);
    tg.say(slowChat, slow, { text: '/start' });
    await rig.waitSent(slowChat.id, /^Ready!/);

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    nemo.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adkTurn().text('Slow answer.') }] });
    tg.say(slowChat, slow, { text: 'plan a long video' });
    await rig.waitSent(slowChat.id, /Working on it/);

    tg.say(quickChat, quick, { text: '/help' });
    await rig.waitSent(quickChat.id, /\/export/);
    expect(rig.sentTo(slowChat.id).some((m) => /Slow answer/.test(m.text ?? ''))).toBe(false);

    release();
    await rig.waitSent(slowChat.id, /Slow answer\./);
  });

  it('when an answer is longer than 4096 characters, then it arrives split, in order, nothing lost', async () => {
    rig = await startTelegramRig();
    const { tg, nemo } = rig;
    const user = tg.user();
    const chat = tg.privateChat(user);
    tg.say(chat, user, { text: '/start' });
    await rig.waitSent(chat.id, /^Ready!/);
    const long = Array.from({ length: 700 }, (_, i) => `line ${String(i).padStart(3, '0')} of the plan.`).join('\n');
    nemo.scriptTurn({ frames: [{ kind: 'event', event: adkTurn().text(long) }] });
    const before = tg.sent.length;
    tg.say(chat, user, { text: 'write me a long plan' });
    await rig.waitSent(chat.id, /line 699 of the plan\./, { from: before });
    const texts = tg.sent.slice(before).map((m) => m.text ?? '');
    const joined = texts.join('\n');
    for (let i = 0; i < 700; i += 1) expect(joined).toContain(`line ${String(i).padStart(3, '0')} of the plan.`);
    expect(joined.indexOf('line 000')).toBeLessThan(joined.indexOf('line 699'));
    expect(texts.filter((t) => t.includes('line ')).length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...texts.map((t) => t.length))).toBeLessThanOrEqual(4096);
  });
});
