import { afterEach, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../fakes/discord/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { buttonId, closeAndCheck, hasButtons, startDiscordRig, type DiscordRig } from './discord-harness.js';

let rig: DiscordRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const CITY = 'Generate a video of a city timelapse';
const BEACH = 'Generate a video of a beach at dawn';
const CONTINUE = 'Continue this project';

/** `/video` with a prompt, up to the answer that carries the buttons. */
async function generate(r: DiscordRig, prompt: string, user = r.discord.users.alice): Promise<FakeMessage> {
  const interaction = r.discord.slashCommand({ user, channelId: r.discord.channelId, name: 'video', options: { prompt } });
  return r.waitMessage(r.discord.channelId, (m) => hasButtons(m) && m.interactionId === interaction.id, 'the answer with buttons');
}

/** Presses Export under `answer` and waits for the video, a regular message of the bot. */
async function exportVideo(r: DiscordRig, answer: FakeMessage, before: number): Promise<FakeMessage> {
  r.discord.pressButton({ user: r.discord.users.alice, messageId: answer.id, customId: buttonId(answer, 'export') });
  return r.waitMessage(r.discord.channelId, (m) => m.files.length > 0 && r.discord.messages(r.discord.channelId).indexOf(m) >= before, 'the video', 20_000);
}

/** "Continue this project" on `messageId`, then the modal submitted with `text`. */
async function continueWith(r: DiscordRig, messageId: string, text: string, user = r.discord.users.alice) {
  const command = r.discord.messageCommand({ user, messageId, name: CONTINUE });
  await waitFor(() => command.modal !== undefined, { message: 'the modal' });
  const submitted = r.discord.submitModal({ user, opened: command, values: { instruction: text } });
  return { command, submitted };
}

describe('Discord projects: reply or "Continue this project", versions', () => {
  it("when a person replies to the first project's video after /new (ping on reply, no Message Content intent), then it reaches the first project's session", async () => {
    const r = (rig = await startDiscordRig());
    const { discord, nemo } = r;
    const first = await generate(r, CITY);
    const city = nemo.sseCalls[0]?.sessionId;
    const video = await exportVideo(r, first, 0);
    // The video is a regular message of the bot (a reply to it reaches the bot), numbered.
    expect(video.via).toBe('bot');
    expect(video.content).toBe('Video ready: v1. Reply to this message to change it.');

    const fresh = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'new' });
    await r.waitMessage(discord.channelId, (m) => m.interactionId === fresh.id && /Started a fresh project/.test(m.content), 'the fresh project');
    await generate(r, BEACH);
    const beach = nemo.sseCalls.at(-1)?.sessionId;
    expect(beach).not.toBe(city);

    discord.userMessage({ author: discord.users.alice, channelId: discord.channelId, content: 'make the title bigger', replyTo: video.id });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'make the title bigger'), { message: 'the reply relayed' });
    expect(nemo.sseCalls.find((c) => c.text === 'make the title bigger')?.sessionId).toBe(city);
    await r.waitMessage(discord.channelId, (m) => /^Back to “Generate a video of a city timelapse”/.test(m.content), 'the switch note');

    // Its next export is its v2.
    const answer = await r.waitMessage(discord.channelId, (m) => hasButtons(m) && /make the title bigger|What changed|Done/.test(m.content), 'the answer');
    const v2 = await exportVideo(r, answer, discord.messages(discord.channelId).length);
    expect(v2.content).toBe('Video ready: v2. Reply to this message to change it.');
  });

  it("when a person replies to the first project's clip preview (a regular message of the bot) after /new, then it reaches the first project", async () => {
    const r = (rig = await startDiscordRig());
    const { discord, nemo } = r;
    await generate(r, CITY);
    const city = nemo.sseCalls[0]?.sessionId;
    const preview = discord.messages(discord.channelId).find((m) => /^Raw clip, as generated/.test(m.content));
    if (preview === undefined) throw new Error('no clip preview');
    expect(preview.via).toBe('bot');
    const fresh = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'new' });
    await r.waitMessage(discord.channelId, (m) => m.interactionId === fresh.id && /Started a fresh project/.test(m.content), 'the fresh project');

    discord.userMessage({ author: discord.users.alice, channelId: discord.channelId, content: 'slower, please', replyTo: preview.id });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'slower, please'), { message: 'the reply to the preview' });
    expect(nemo.sseCalls.find((c) => c.text === 'slower, please')?.sessionId).toBe(city);
    await r.waitMessage(discord.channelId, (m) => hasButtons(m) && /slower, please|What changed|Done/.test(m.content), 'the answer');
  });

  it('when "Continue this project" is used on an interaction answer, then a modal asks for the instruction and it reaches that project; on someone else\'s, it is refused politely', async () => {
    const r = (rig = await startDiscordRig());
    const { discord, nemo } = r;
    const cityAnswer = await generate(r, CITY);
    const city = nemo.sseCalls[0]?.sessionId;
    const fresh = discord.slashCommand({ user: discord.users.alice, channelId: discord.channelId, name: 'new' });
    await r.waitMessage(discord.channelId, (m) => m.interactionId === fresh.id && /Started a fresh project/.test(m.content), 'the fresh project');
    await generate(r, BEACH);

    // The city answer is an interaction response: the message command works on it all the same.
    expect(cityAnswer.via).toBe('interaction');
    const { command, submitted } = await continueWith(r, cityAnswer.id, 'add a title "Night City"');
    expect(command.ackType).toBe(9);
    expect(command.modal).toMatchObject({ title: CONTINUE, components: [{ components: [{ custom_id: 'instruction', style: 2, required: true }] }] });
    await waitFor(() => nemo.sseCalls.some((c) => c.text === 'add a title "Night City"'), { message: 'the instruction relayed' });
    expect(nemo.sseCalls.find((c) => c.text === 'add a title "Night City"')?.sessionId).toBe(city);
    expect(submitted.ackType).toBe(5);
    await r.waitMessage(discord.channelId, (m) => m.interactionId === submitted.id && /Back to “Generate a video of a city timelapse”/.test(m.content), 'the switch note');
    await r.waitMessage(discord.channelId, (m) => m.interactionId === submitted.id && hasButtons(m), 'the answer to the instruction');

    // Bob's "Continue this project" on Alice's answer: refused, and nothing reaches her project.
    const calls = nemo.sseCalls.length;
    const bob = await continueWith(r, cityAnswer.id, 'make it pink', discord.users.bob);
    await r.waitMessage(discord.channelId, (m) => m.interactionId === bob.submitted.id && /belongs to someone else's project/.test(m.content), 'the refusal');
    expect(nemo.sseCalls.slice(calls).map((c) => c.text)).not.toContain('make it pink');

    // On a message that is not the bot's: said so, no modal.
    const own = discord.userMessage({ author: discord.users.alice, channelId: discord.channelId, content: 'hello <@someone>' });
    const refused = discord.messageCommand({ user: discord.users.alice, messageId: own.id, name: CONTINUE });
    await r.waitMessage(discord.channelId, (m) => m.interactionId === refused.id && /not one of my messages/.test(m.content), 'not mine');
    expect(refused.modal).toBeUndefined();
  });
});
