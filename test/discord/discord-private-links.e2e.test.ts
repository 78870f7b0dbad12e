import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../fakes/discord/index.js';
import { closeAndCheck, startDiscordRig, type DiscordRig } from './discord-harness.js';

let rig: DiscordRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const CLAIM = /workspace\/claim\?ct=/;
const TOKEN = 'nv_personal_TOKEN_0123456789abcdef';

/** Everything others in the channel can read: every non-ephemeral message, each text it ever had. */
function publicTexts(r: DiscordRig, channelId = r.discord.channelId): string[] {
  return r.discord
    .messages(channelId)
    .filter((m) => !m.ephemeral)
    .flatMap((m) => m.history);
}

/**
 * Every body the bot sent anywhere but the person's DM channel (posts, interaction callbacks,
 * edits, follow-ups), ephemeral follow-ups left out: what the guild could ever be shown.
 */
function publicBodies(r: DiscordRig, person = r.discord.users.alice): string[] {
  const dm = `/channels/${r.discord.dmChannel(person)}/`;
  return r.discord.requests
    .filter((q) => q.body !== undefined && !q.rawPath.includes(dm))
    .map((q) => JSON.stringify(q.body))
    .filter((body) => !/"flags":64\b/.test(body));
}

describe('personal links in a Discord guild', () => {
  it('when a person runs /status in a channel, then the project link comes in a message only they see, and the channel reads only the timeline and a note', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    const interaction = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'status' });

    const only = await r.waitMessage(discord.channelId, (m) => m.ephemeral && m.interactionId === interaction.id, 'the ephemeral link');
    expect(only.content).toMatch(CLAIM);
    const note = await r.waitMessage(discord.channelId, (m) => !m.ephemeral && /only you can see/.test(m.content), 'the note in the channel');
    expect(note.interactionId).toBe(interaction.id);
    expect(publicTexts(r).join('\n')).not.toMatch(CLAIM);
    expect(publicBodies(r).join('\n')).not.toMatch(CLAIM);
    expect(discord.messages(discord.dmChannel(discord.users.alice))).toEqual([]);
  });

  it('when the ephemeral follow-up is refused, then the link goes by DM instead, and the channel still never reads it', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    // The project first: its "Ready!" is a follow-up of its own.
    const credits = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'credits' });
    await r.waitMessage(discord.channelId, (m) => m.interactionId === credits.id && /100 available/.test(m.content), 'the credits');
    discord.failNext('followup', { status: 400, code: 50035, message: 'Invalid Form Body' });
    const status = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'status' });

    await r.waitMessage(discord.dmChannel(discord.users.alice), (m) => CLAIM.test(m.content), 'the link by DM');
    // The deferred reply first said "only you can see", and was corrected once the DM went out.
    const note = await r.waitMessage(discord.channelId, (m) => m.interactionId === status.id && /I've sent you the link in a private message/.test(m.content), 'the note');
    expect(note.history[0]).toMatch(/only you can see/);
    expect(discord.requests.filter((q) => q.route === 'followup').map((q) => q.status)).toContain(400);
    expect(publicTexts(r).join('\n')).not.toMatch(CLAIM);
    expect(publicBodies(r).join('\n')).not.toMatch(CLAIM);
  });

  it('when a person asks in a channel by mention (no interaction), then the link comes by DM, and the channel is told so without it', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    discord.userMessage({ author: discord.users.alice, channelId: discord.channelId, content: 'status', mentionBot: true });

    const dm = discord.dmChannel(discord.users.alice);
    const direct = await r.waitMessage(dm, (m) => CLAIM.test(m.content), 'the link by DM');
    expect(direct.via).toBe('bot');
    await r.waitMessage(discord.channelId, (m) => /I've sent you the link in a private message/.test(m.content), 'the note in the channel');
    expect(publicTexts(r).join('\n')).not.toMatch(CLAIM);
    expect(publicBodies(r).join('\n')).not.toMatch(CLAIM);
    expect(r.discord.requests.some((q) => q.route === 'create-dm' && q.auth === 'bot')).toBe(true);
  });

  it('when the person refuses DMs (50007), then the channel is told so, in their language, and the link is posted nowhere', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    discord.closeDms(discord.users.bob);
    discord.userMessage({ author: discord.users.bob, channelId: discord.channelId, content: '状态', mentionBot: true });

    await r.waitMessage(discord.channelId, (m) => /无法给你发私信/.test(m.content), 'the refusal note');
    // The one try went to the DM channel (refused there); nothing else carried the link.
    const dm = discord.dmChannel(discord.users.bob);
    const tries = discord.requests.filter((q) => q.rawPath.includes(`/channels/${dm}/`));
    expect(tries.map((q) => q.status)).toEqual([403]);
    const elsewhere = discord.requests.filter((q) => !tries.includes(q)).map((q) => JSON.stringify(q.body ?? ''));
    expect(elsewhere.join('\n')).not.toMatch(CLAIM);
    expect(publicTexts(r).join('\n')).not.toMatch(CLAIM);
    expect(discord.messages(dm)).toEqual([]);
  });

  it('when a video is exported from a button, then its caption carries no project link and the person gets it ephemerally', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    const generate = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'video', options: { prompt: 'Generate a video of a city timelapse' } });
    const answer = await r.waitMessage(discord.channelId, (m) => m.components.length > 0 && m.interactionId === generate.id, 'the answer with buttons');
    const customId = /"custom_id":"(nvp:export:[^"]+)"/.exec(JSON.stringify(answer.components))?.[1] ?? '';
    const press = discord.pressButton({ user: discord.users.alice, messageId: answer.id, customId });

    const video = await r.waitMessage(discord.channelId, (m) => m.files.length > 0, 'the video');
    expect(video.content).toBe('Video ready.');
    const link = await r.waitMessage(discord.channelId, (m: FakeMessage) => m.ephemeral && m.interactionId === press.id, 'the ephemeral project link');
    expect(link.content).toMatch(CLAIM);
    expect(publicTexts(r).join('\n')).not.toMatch(CLAIM);
    expect(publicBodies(r).join('\n')).not.toMatch(CLAIM);
  });
});

describe('/login in a Discord guild', () => {
  it('when a person posts /login with a token in a channel, then the message is deleted, they are told to use a DM, and the token is echoed nowhere', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    const posted = discord.userMessage({ author: discord.users.alice, channelId: discord.channelId, content: `/login ${TOKEN}`, mentionBot: true });

    await r.waitMessage(discord.channelId, (m) => /I deleted your message/.test(m.content), 'the refusal');
    expect(discord.message(posted.id)?.deleted).toBe(true);
    const bot = discord.messages(discord.channelId).filter((m) => m.author.id === discord.botUser.id);
    expect(bot.flatMap((m) => m.history).join('\n')).not.toContain(TOKEN);
    expect(r.logs()).not.toContain(TOKEN);
    expect(r.nemo.requests.some((q) => JSON.stringify(q).includes(TOKEN))).toBe(false);
  });

  it('when the bot may not delete messages (50013), then it says so and tells them to revoke the token, without echoing it', async () => {
    const r = (rig = await startDiscordRig({ discord: { manageMessages: false } }));
    const { discord } = r;
    const posted = discord.userMessage({ author: discord.users.bob, channelId: discord.channelId, content: `/login ${TOKEN}`, mentionBot: true });

    const reply = await r.waitMessage(discord.channelId, (m) => /couldn't delete your message/.test(m.content), 'the warning');
    expect(reply.content).toMatch(/Revoke it at nemovideo\.com/);
    expect(discord.message(posted.id)?.deleted).toBeUndefined();
    expect(discord.requests.some((q) => q.route === 'delete-message' && q.status === 403)).toBe(true);
    expect(discord.messages(discord.channelId).filter((m) => m.author.id === discord.botUser.id).flatMap((m) => m.history).join('\n')).not.toContain(TOKEN);
    expect(r.logs()).not.toContain(TOKEN);
  });

  it('when /login is typed into the /video prompt, then the deferral and the answer are ephemeral and the token is echoed nowhere', async () => {
    const r = (rig = await startDiscordRig());
    const { discord } = r;
    const interaction = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'video', options: { prompt: `/login ${TOKEN}` } });

    const reply = await r.waitMessage(discord.channelId, (m) => m.interactionId === interaction.id && /private chat/.test(m.content), 'the answer');
    expect(reply.ephemeral).toBe(true);
    const callback = discord.requests.find((q) => q.route === 'interaction-callback');
    expect(callback?.body).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(publicTexts(r).join('\n')).not.toContain(TOKEN);
    expect(discord.messages(discord.channelId).flatMap((m) => m.history).join('\n')).not.toContain(TOKEN);
    expect(r.logs()).not.toContain(TOKEN);
    expect(r.nemo.sseCalls).toEqual([]);
  });
});
