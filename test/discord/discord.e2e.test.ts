import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { makeVoiceNote, probe } from '../helpers/audio.js';
import { waitFor } from '../helpers/wait-for.js';
import { buttonId, closeAndCheck, hasButtons, pngBytes, startDiscordRig, type DiscordRig, type RigOptions } from './discord-harness.js';

let rig: DiscordRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

async function start(options: RigOptions = {}): Promise<DiscordRig> {
  rig = await startDiscordRig(options);
  return rig;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const PROMPT = 'Generate a video of a city timelapse';

/** `/video` with a prompt, up to the answer that carries the buttons. */
async function generate(r: DiscordRig, channelId = r.discord.channelId, user = r.discord.users.alice, locale?: string) {
  const interaction = r.discord.slashCommand({ user, channelId, name: 'video', options: { prompt: PROMPT }, ...(locale ? { locale } : {}) });
  const answer = await r.waitMessage(channelId, (m) => hasButtons(m) && m.interactionId === interaction.id, 'the answer with buttons');
  return { interaction, answer };
}

const videoMessages = (r: DiscordRig, channelId: string) => r.discord.messages(channelId).filter((m) => m.files.length > 0);

describe('Discord bot, end to end', () => {
  it('when a user runs /video and presses Export, then the reply is deferred within 3 s, progress edits one message and the MP4 arrives byte for byte', async () => {
    const r = await start();
    const { interaction, answer } = await generate(r);

    expect(interaction.ackType).toBe(5);
    expect((interaction.ackAt ?? Infinity) - interaction.createdAt).toBeLessThan(3000);
    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual([PROMPT]);
    // The deferred reply was filled by the first answer, the rest followed it.
    const original = r.discord.message(interaction.originalMessageId ?? '');
    expect(original?.loading).toBe(false);
    expect(original?.history[0]).toMatch(/Setting things up/);
    expect(answer.content).toMatch(/Your video is ready!/);
    expect(answer.content).not.toMatch(/click/i);

    const exportPress = r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: buttonId(answer, 'export') });
    const video = await r.waitMessage(r.discord.channelId, (m) => m.files.length > 0, 'the video');

    expect(exportPress.ackType).toBe(5);
    expect(video.via).toBe('bot');
    // Named after the project (the session, as the draft has no title), with a description (issue 15).
    expect(video.files[0]?.filename).toMatch(/^nemovideo-\d+-[A-Za-z0-9]{1,6}\.mp4$/);
    expect(video.files[0]?.bytes.equals(FIXTURE_MP4)).toBe(true);
    // A guild channel: the claim link goes to the person alone, in a message only they see.
    expect(video.content).toBe('Video ready.');
    const link = await r.waitMessage(r.discord.channelId, (m) => m.ephemeral && m.interactionId === exportPress.id, 'the ephemeral project link');
    expect(link.content).toMatch(/Open the project in your browser: .*workspace\/claim\?ct=/);
    const progress = r.discord.message(exportPress.originalMessageId ?? '');
    expect(progress?.history[0]).toMatch(/Rendering… I'll post the progress/);
    await waitFor(() => progress?.content === 'Video ready.', { message: 'the progress message ends with "Video ready."' });
    expect(progress?.history.some((text) => /Rendering… \d+ %/.test(text))).toBe(true);
    expect(videoMessages(r, r.discord.channelId)).toHaveLength(1);
    // Posting with the bot token; interaction routes without it.
    const posts = r.discord.requests.filter((q) => q.route === 'create-message');
    expect(posts.every((q) => q.auth === 'bot')).toBe(true);
    expect(r.discord.requests.filter((q) => q.route === 'webhook-edit' || q.route === 'interaction-callback').every((q) => q.auth === 'none')).toBe(true);
  });

  it('when the interaction locale is zh-CN, then the bot answers in Chinese', async () => {
    const r = await start();
    const interaction = r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'credits', locale: 'zh-CN' });
    const reply = await r.waitMessage(r.discord.channelId, (m) => m.interactionId === interaction.id && /积分：可用/.test(m.content), 'the credits in Chinese');
    expect(reply.content).toMatch(/积分：可用 100/);
  });

  it('when someone mentions the bot in a guild channel, then it answers there, and a message not for it gets no answer', async () => {
    const r = await start();
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: 'just chatting with friends' });
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: 'make an intro about otters', mentionBot: true });

    await r.waitMessage(r.discord.channelId, (m) => m.via === 'bot' && /Happy to help with: make an intro about otters/.test(m.content), 'the answer');

    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual(['make an intro about otters']);
    expect(r.discord.messages(r.discord.channelId).filter((m) => m.via === 'interaction')).toEqual([]);
  });

  it('when a user replies to a bot message, then the reply counts as addressed to the bot', async () => {
    const r = await start();
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: 'make an intro about otters', mentionBot: true });
    const answer = await r.waitMessage(r.discord.channelId, (m) => m.via === 'bot' && hasButtons(m), 'the first answer');
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: 'add some music', replyTo: answer.id });
    await r.waitMessage(r.discord.channelId, (m) => /Added background music/.test(m.content), 'the answer to the reply');
    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual(['make an intro about otters', 'add some music']);
  });

  it('when a user writes to the bot in a DM, then the bot answers in the DM', async () => {
    const r = await start();
    const dm = r.discord.dmChannel(r.discord.users.bob);
    r.discord.userMessage({ author: r.discord.users.bob, channelId: dm, content: 'a teaser for my podcast' });
    const answer = await r.waitMessage(dm, (m) => /Happy to help with: a teaser for my podcast/.test(m.content), 'the DM answer');
    expect(answer.via).toBe('bot');
    expect(r.discord.messages(r.discord.channelId)).toEqual([]);
  });

  it('when a user runs /video in a thread and exports, then every reply and the video go into the thread', async () => {
    const r = await start();
    const { answer } = await generate(r, r.discord.threadId);
    r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: buttonId(answer, 'export') });
    const video = await r.waitMessage(r.discord.threadId, (m) => m.files.length > 0, 'the video in the thread');
    expect(sha256(video.files[0]?.bytes ?? Buffer.alloc(0))).toBe(sha256(FIXTURE_MP4));
    expect(r.discord.messages(r.discord.channelId)).toEqual([]);
  });

  it('when /video comes with a file, then the file is streamed from the CDN to NemoVideo and the prompt goes to the agent', async () => {
    const r = await start();
    const interaction = r.discord.slashCommand({
      user: r.discord.users.alice,
      channelId: r.discord.channelId,
      name: 'video',
      options: { prompt: 'use this as the intro', file: { name: 'clip.mp4', contentType: 'video/mp4', bytes: FIXTURE_MP4 } },
    });
    await r.waitMessage(r.discord.channelId, (m) => m.interactionId === interaction.id && /Happy to help with: use this as the intro/.test(m.content), 'the answer');
    expect(r.nemo.uploads).toHaveLength(1);
    expect(r.nemo.uploads[0]).toMatchObject({ filename: 'clip.mp4', size: FIXTURE_MP4.length, sha256: sha256(FIXTURE_MP4), kind: 'file' });
    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual(['use this as the intro']);
  });

  it('when a mention carries a picture, then it is downloaded at once and streamed to NemoVideo with the words', async () => {
    const r = await start();
    const picture = pngBytes(2048, 1);
    r.discord.userMessage({
      author: r.discord.users.bob,
      channelId: r.discord.channelId,
      content: 'use this as the cover',
      mentionBot: true,
      files: [{ name: 'cover.png', contentType: 'image/png', bytes: picture }],
    });
    await r.waitMessage(r.discord.channelId, (m) => /Happy to help with: use this as the cover/.test(m.content), 'the answer');
    expect(r.nemo.uploads).toEqual([expect.objectContaining({ filename: 'cover.png', size: picture.length, sha256: sha256(picture), kind: 'file' })]);
    expect(r.discord.requests.filter((q) => q.route === 'cdn').map((q) => q.status)).toEqual([200]);
  });

  it('when a message carries a voice message, a broken .ogg and a picture, then the voice becomes an .m4a, the broken one is explained and the picture goes on', async () => {
    const r = await start();
    const voice = await makeVoiceNote();
    const picture = pngBytes(512, 1);
    r.discord.userMessage({
      author: r.discord.users.bob,
      channelId: r.discord.channelId,
      content: 'use this as the narration',
      mentionBot: true,
      files: [
        { name: 'voice-message.ogg', contentType: 'audio/ogg', bytes: voice },
        { name: 'broken.ogg', contentType: 'audio/ogg', bytes: Buffer.from('not an ogg stream at all') },
        { name: 'cover.png', contentType: 'image/png', bytes: picture },
      ],
    });
    await r.waitMessage(r.discord.channelId, (m) => /Happy to help with: use this as the narration/.test(m.content), 'the answer');
    const refusal = r.discord.messages(r.discord.channelId).find((m) => /couldn't convert the voice note "broken\.ogg"/.test(m.content));
    expect(refusal?.content).toMatch(/mp3, wav, m4a, aac/);
    expect(r.nemo.uploads.map((u) => u.filename)).toEqual(['voice-message.m4a', 'cover.png']);
    expect(r.nemo.uploads[1]?.sha256).toBe(sha256(picture));
    const converted = r.nemo.uploadHead(r.nemo.uploads[0]?.sha256 ?? '') ?? Buffer.alloc(0);
    expect(await probe(converted)).toEqual({ codecs: ['aac'], format: expect.stringMatching(/m4a/), brand: 'M4A ' });
    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual(['use this as the narration']);
  });

  it('when a mention carries a file of a type NemoVideo does not take, then nothing is downloaded and the user is told', async () => {
    const r = await start();
    r.discord.userMessage({
      author: r.discord.users.bob,
      channelId: r.discord.channelId,
      content: 'use this',
      mentionBot: true,
      files: [{ name: 'tool.exe', contentType: 'application/x-msdownload', bytes: Buffer.alloc(64) }],
    });
    await r.waitMessage(r.discord.channelId, (m) => /can't use "tool\.exe"/.test(m.content), 'the refusal');
    expect(r.discord.requests.filter((q) => q.route === 'cdn')).toEqual([]);
    expect(r.nemo.uploads).toEqual([]);
  });

  it('when the video is larger than the interaction allows, then a link is posted instead of a file', async () => {
    const r = await start({ discord: { attachmentSizeLimit: 100_000 }, nemo: { renderScript: { outputSize: 300_000 } } });
    const { answer } = await generate(r);
    r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: buttonId(answer, 'export') });
    const link = await r.waitMessage(r.discord.channelId, (m) => /too large to upload here/.test(m.content), 'the link');
    expect(link.content).toMatch(/\/cdn\/render_[^ ]+\.mp4/);
    expect(videoMessages(r, r.discord.channelId)).toEqual([]);
    // Nothing was uploaded: the size was known before.
    expect(r.discord.requests.filter((q) => q.route === 'create-message' && q.status === 413)).toEqual([]);
  });

  it('when Discord refuses the upload with 413, then the video is sent as a link', async () => {
    // Messages carry no upload limit: the setting (10 MB) says yes, the server says no.
    const r = await start({ discord: { maxUploadBytes: 100_000 }, nemo: { renderScript: { outputSize: 300_000 } } });
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: PROMPT, mentionBot: true });
    await r.waitMessage(r.discord.channelId, (m) => hasButtons(m), 'the answer');
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: 'export', mentionBot: true });
    const link = await r.waitMessage(r.discord.channelId, (m) => /too large to upload here/.test(m.content), 'the link');
    expect(link.content).toMatch(/\/cdn\/render_[^ ]+\.mp4/);
    expect(r.discord.requests.filter((q) => q.route === 'create-message' && q.status === 413)).toHaveLength(1);
    expect(videoMessages(r, r.discord.channelId)).toEqual([]);
  });

  it('when Discord refuses the upload with 500, then the user gets the link and the render is not called failed', async () => {
    const r = await start();
    const { answer } = await generate(r);
    r.discord.unfriendly({ uploads: 500 });
    const exportPress = r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: buttonId(answer, 'export') });
    const link = await r.waitMessage(r.discord.channelId, (m) => /couldn't upload the file here/.test(m.content), 'the link');
    expect(link.content).toMatch(/\/cdn\/render_[^ ]+\.mp4/);
    expect(link.content).toMatch(/Project: .*workspace\/claim\?ct=/);
    expect(videoMessages(r, r.discord.channelId)).toEqual([]);
    expect(r.discord.requests.some((q) => q.route === 'create-message' && q.status === 500)).toBe(true);
    const everything = r.discord.messages(r.discord.channelId).flatMap((m) => m.history.concat(m.content));
    expect(everything.some((text) => /render failed|export again/i.test(text))).toBe(false);
    await waitFor(() => /sent as a link/.test(r.discord.message(exportPress.originalMessageId ?? '')?.content ?? ''), { message: 'the progress message says the video went as a link' });
  });

  it('when someone sends slash commands faster than the limit, then one notice comes and the silenced commands leave no "thinking…" behind', async () => {
    const r = await start({ env: { USER_MESSAGES_PER_MINUTE: '2' } });
    const alice = r.discord.users.alice;
    const channelId = r.discord.channelId;
    const presses = [];
    for (let i = 0; i < 4; i += 1) {
      const interaction = r.discord.slashCommand({ user: alice, channelId, name: 'credits' });
      presses.push(interaction);
      await waitFor(() => {
        const original = r.discord.message(interaction.originalMessageId ?? '');
        return original !== undefined && (!original.loading || original.deleted === true);
      }, { message: `command ${i + 1} answered or removed` });
    }
    const shown = presses.map((p) => r.discord.message(p.originalMessageId ?? ''));
    // The first contact's set-up message fills the first deferral; the credits follow it.
    expect(shown[1]?.content).toMatch(/Credits: 100 available/);
    expect(shown[2]?.content).toMatch(/faster than I can take them \(at most 2 a minute\)/);
    expect(shown[3]?.deleted).toBe(true);
    expect(shown[3]?.content).toBe('');
  });

  it('when a render outlives the interaction token, then progress moves to a channel message and the video is posted with the bot token', async () => {
    const r = await start({
      bot: { interactionTokenTtlMs: 1200 },
      discord: { interactionTokenLifeMs: 1500 },
      env: { RENDER_POLL_INTERVAL_MS: '150', RENDER_MAX_POLLS: '40' },
      nemo: { renderScript: { pollsUntilComplete: 14 } },
    });
    const { answer } = await generate(r);
    const exportPress = r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: buttonId(answer, 'export') });
    const video = await r.waitMessage(r.discord.channelId, (m) => m.files.length > 0, 'the video');

    expect(video.via).toBe('bot');
    expect(video.files[0]?.bytes.equals(FIXTURE_MP4)).toBe(true);
    // The bot stopped using the token before Discord would have refused it.
    expect(r.discord.expiredTokenUses).toEqual([]);
    const original = r.discord.message(exportPress.originalMessageId ?? '');
    expect(original?.history[0]).toMatch(/Rendering… I'll post the progress/);
    expect(original?.content).not.toBe('Video ready.');
    // One successor message in the channel carried the rest of the progress, edited in place.
    const successors = r.discord.messages(r.discord.channelId).filter((m) => m.via === 'bot' && m.nonce === `e${original?.id ?? ''}`);
    expect(successors).toHaveLength(1);
    await waitFor(() => successors[0]?.content === 'Video ready.', { message: 'the successor ends with "Video ready."' });
    expect(r.discord.requests.filter((q) => q.route === 'webhook-edit' && q.at - exportPress.createdAt > 1500)).toEqual([]);
    // Past its life no interaction token is anywhere in Redis: not in the render job, the journal or the inbox.
    const tokens = [...r.discord.interactions.values()].map((i) => i.token);
    expect(tokens.length).toBeGreaterThan(0);
    await waitFor(async () => (await r.redis.keys(createRedisKeys(r.prefix).discordInteractionToken('*'))).length === 0, { message: 'the token keys expired' });
    const stored = await everyValue(r.redis, r.prefix);
    expect(stored).toContain('interactionId');
    for (const token of tokens) expect(stored).not.toContain(token);
  });

  it('when the bot restarts, then a button from before still works, and another user pressing it gets an ephemeral notice', async () => {
    const r = await start();
    const { answer } = await generate(r);
    const exportId = buttonId(answer, 'export');

    const stranger = r.discord.pressButton({ user: r.discord.users.bob, messageId: answer.id, customId: exportId });
    await waitFor(() => stranger.ackType !== undefined, { message: 'the stranger gets an answer' });
    expect(stranger.ackType).toBe(4);
    const notice = r.discord.message(stranger.originalMessageId ?? '');
    expect(notice?.ephemeral).toBe(true);
    expect(notice?.content).toContain(`<@${r.discord.users.alice.id}>`);

    await r.restartBot();
    const owner = r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: exportId });
    const video = await r.waitMessage(r.discord.channelId, (m) => m.files.length > 0, 'the video after the restart');
    expect(owner.ackType).toBe(5);
    expect(video.files[0]?.bytes.equals(FIXTURE_MP4)).toBe(true);
    // The stranger's press started nothing: one render, one video.
    expect(r.nemo.renders.size).toBe(1);
    expect(videoMessages(r, r.discord.channelId)).toHaveLength(1);
  });
  it('when Discord refuses every edit with 10008 (messages deleted), then the turn still answers, in the channel', async () => {
    const r = await start();
    r.discord.unfriendly({ edits: 10008 });
    r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'video', options: { prompt: PROMPT } });
    const answer = await r.waitMessage(r.discord.channelId, (m) => hasButtons(m), 'the answer with buttons');
    expect(answer.content).toMatch(/Your video is ready!/);
    expect(r.nemo.sseCalls).toHaveLength(1);
    expect(r.logs()).not.toMatch(/message hand-off failed|turn failed/);
  });

  it('when Discord refuses every interaction edit with 50027 (token gone), then the turn still answers', async () => {
    const r = await start();
    r.discord.unfriendly({ edits: 50027 });
    r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'video', options: { prompt: PROMPT } });
    const answer = await r.waitMessage(r.discord.channelId, (m) => hasButtons(m), 'the answer with buttons');
    expect(answer.content).toMatch(/Your video is ready!/);
    expect(r.logs()).not.toMatch(/message hand-off failed|turn failed/);
  });
});

/** Every key of the rig and its value, whatever the type (BullMQ keeps job data in hashes). */
async function everyValue(redis: DiscordRig['redis'], prefix: string): Promise<string> {
  const out: string[] = [];
  for (const key of await redis.keys(`${prefix}*`)) {
    const type = await redis.type(key);
    out.push(key);
    if (type === 'string') out.push((await redis.get(key)) ?? '');
    else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1)));
    else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
    else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
  }
  return out.join('\n');
}
