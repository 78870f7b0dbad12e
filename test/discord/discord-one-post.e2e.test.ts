import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { adkTurn } from '../fakes/nemo/index.js';
import { startPausableRedis, type PausableRedis } from '../helpers/pausable-redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startDiscordRig, type DiscordRig } from './discord-harness.js';

let rig: DiscordRig | undefined;
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

// Long enough that no turn of the fake agent outlasts it on a loaded machine (see the Telegram twin).
const QUICK = { PROGRESS_DELAY_MS: '30000' };

describe('Discord: one post for a quick answer, end to end', () => {
  it("when a new user mentions the bot, then \"is typing\" shows first and the answer (with the welcome line) is the bot's only post", async () => {
    const r = (rig = await startDiscordRig({ env: QUICK }));
    const channelId = r.discord.channelId;
    r.discord.userMessage({ author: r.discord.users.bob, channelId, content: 'make an intro about otters', mentionBot: true });

    const answer = await r.waitMessage(channelId, (m) => m.via === 'bot' && /Happy to help with: make an intro about otters/.test(m.content), 'the answer');
    await r.nemo.turnsEnded(1);
    const posts = r.discord.messages(channelId).filter((m) => m.via !== 'user');
    expect(posts.map((m) => m.history)).toEqual([[answer.content]]);
    expect(answer.content).toMatch(/\n\nWelcome! .*\/help/);
    const typing = r.discord.requests.filter((q) => q.route === 'typing');
    expect(typing.map((q) => [q.rawPath, q.status])).toEqual([[`/api/v10/channels/${channelId}/typing`, 204]]);
    expect(typing[0]?.at).toBeLessThanOrEqual(answer.createdAt);
  });

  it('when a new user runs /credits, then the deferred reply becomes the answer: one message, no typing call', async () => {
    const r = (rig = await startDiscordRig({ env: QUICK }));
    const interaction = r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'credits' });
    const reply = await r.waitMessage(r.discord.channelId, (m) => m.interactionId === interaction.id && /Credits/.test(m.content), 'the credits');
    expect(reply.id).toBe(interaction.originalMessageId);
    expect(reply.history.filter((text) => text !== '')).toHaveLength(1);
    expect(reply.content).not.toMatch(/Setting things up|Ready!/);
    expect(r.discord.messages(r.discord.channelId).filter((m) => m.via !== 'user' && !m.ephemeral)).toHaveLength(1);
    expect(r.discord.requests.filter((q) => q.route === 'typing')).toEqual([]);
  });

  it('when the agent takes longer than the delay, then the progress message and the answer are the two posts', async () => {
    const r = (rig = await startDiscordRig({ env: { PROGRESS_DELAY_MS: '200' } }));
    const channelId = r.discord.channelId;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    r.nemo.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adkTurn().text('Slow answer.') }] });
    r.discord.userMessage({ author: r.discord.users.bob, channelId, content: 'plan a long video', mentionBot: true });

    const progress = await r.waitMessage(channelId, (m) => m.via === 'bot' && m.history[0] === 'Working on it…', 'the progress message');
    release();
    const answer = await r.waitMessage(channelId, (m) => m.via === 'bot' && /Slow answer\./.test(m.content), 'the answer');
    await r.nemo.turnsEnded(1);
    expect(r.discord.messages(channelId).filter((m) => m.via === 'bot').map((m) => m.id)).toEqual([progress.id, answer.id]);
    expect(progress.content).toBe('Done.');
  });

  it('when Redis holds every write, then "is typing" still shows at once, before the message is even marked seen; the answer follows once Redis lets go', async () => {
    const own = (ownRedis = await startPausableRedis());
    const { admin } = own;
    const r = (rig = await startDiscordRig({ env: QUICK, redisUrl: own.url }));
    const channelId = r.discord.channelId;

    // Reads still go; the message's first sight (a script) and everything after it wait.
    await own.pauseWrites();
    const said = r.discord.userMessage({ author: r.discord.users.bob, channelId, content: 'make an intro about otters', mentionBot: true });
    await waitFor(() => r.discord.requests.some((q) => q.route === 'typing'), { message: '"is typing" while Redis is paused' });
    const seen = createRedisKeys(r.prefix).discordSeen(`message:${said.id}`);
    expect(await admin.exists(seen)).toBe(0);
    expect(r.discord.messages(channelId).filter((m) => m.via !== 'user')).toEqual([]);

    await own.unpause();
    await r.waitMessage(channelId, (m) => m.via === 'bot' && /Happy to help with: make an intro about otters/.test(m.content), 'the answer');
    await r.nemo.turnsEnded(1);
    expect(await admin.exists(seen)).toBe(1);
    expect(r.discord.requests.filter((q) => q.route === 'typing')).toHaveLength(1);
  });
});
