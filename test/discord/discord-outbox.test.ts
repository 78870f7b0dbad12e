import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { discordButtonStore } from '../../adapters/discord/button-store.js';
import { SessionStore } from '../../src/core/session-store.js';
import { DiscordRequestError } from '../../adapters/discord/discord-errors.js';
import { DiscordOutbox } from '../../adapters/discord/discord-outbox.js';
import { createLogger } from '../../src/log.js';
import { FileTooLargeForPlatformError, type ChatAddress, type VideoFile } from '../../src/core/types.js';
import { startFakeDiscord, type FakeDiscord, type FakeInteraction } from '../fakes/discord/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

let fake: FakeDiscord;
let redis: Redis;
let prefix: string;
let logText = '';

beforeAll(async () => {
  const test = testRedis();
  prefix = test.prefix;
  redis = new Redis(test.url);
});

afterAll(() => {
  redis.disconnect();
});

afterEach(async () => {
  expect(fake.violations).toEqual([]);
  expect(logText).not.toContain(fake.token);
  for (const interaction of fake.interactions.values()) expect(logText).not.toContain(interaction.token);
  await fake.close();
  logText = '';
});

async function setup(options: Parameters<typeof startFakeDiscord>[0] = {}, maxUploadBytes = 10 * 1024 * 1024): Promise<DiscordOutbox> {
  fake = await startFakeDiscord(options);
  return newOutbox(maxUploadBytes);
}

/** A fresh outbox, as another process would build it: nothing in memory. */
function newOutbox(maxUploadBytes = 10 * 1024 * 1024): DiscordOutbox {
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination, secrets: [fake.token] });
  return new DiscordOutbox({ token: fake.token, apiUrl: fake.apiUrl, maxUploadBytes, logger, buttons: discordButtonStore(redis, createRedisKeys(prefix)) });
}

function channelAddress(channelId = fake.channelId): ChatAddress {
  return { platform: 'discord', chatId: channelId, userId: fake.users.alice.id, extra: { guildId: fake.guildId } };
}

function interactionAddress(interaction: FakeInteraction, ttlMs = 60_000, extra: Record<string, number> = {}): ChatAddress {
  return {
    platform: 'discord',
    chatId: interaction.channelId,
    userId: interaction.userId,
    extra: {
      guildId: fake.guildId,
      interactionToken: interaction.token,
      interactionExpiresAt: interaction.createdAt + ttlMs,
      applicationId: fake.applicationId,
      ...extra,
    },
  };
}

/** Acknowledges an interaction as the bot does (a deferred reply), telling `outbox` so. */
async function deferred(outbox?: DiscordOutbox): Promise<FakeInteraction> {
  const interaction = fake.openInteraction({ user: fake.users.alice, channelId: fake.channelId });
  const res = await request(`${fake.apiUrl}/v10/interactions/${interaction.id}/${interaction.token}/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 5 }),
  });
  await res.body.dump();
  expect(res.statusCode).toBe(204);
  outbox?.noteDeferred(interactionAddress(interaction));
  return interaction;
}

function video(bytes: Buffer, deliveryId = `render_${randomBytes(6).toString('hex')}`): VideoFile {
  return { filename: `${deliveryId}.mp4`, size: bytes.length, stream: Readable.from([bytes]), caption: 'Video ready.', deliveryId };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('DiscordOutbox', () => {
  it('when an interaction was deferred, then the first reply fills it and the next ones follow it', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const first = await outbox.sendText(interactionAddress(interaction), 'Working on it…');
    const second = await outbox.sendText(interactionAddress(interaction), 'Here is more.');

    const original = fake.message(interaction.originalMessageId ?? '');
    expect(original?.loading).toBe(false);
    expect(original?.content).toBe('Working on it…');
    expect(first).toBe(`i:${original?.id}`);
    expect(interaction.followupIds).toHaveLength(1);
    expect(second).toBe(`i:${interaction.followupIds[0]}`);
    expect(fake.requests.filter((q) => q.route === 'webhook-edit' || q.route === 'followup').every((q) => q.auth === 'none')).toBe(true);
  });

  it('when another process posts for a live interaction, then it follows up instead of overwriting the reply', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    await outbox.sendText(interactionAddress(interaction), 'Rendering…');
    await newOutbox().sendText(interactionAddress(interaction), 'The render failed.');
    expect(fake.message(interaction.originalMessageId ?? '')?.content).toBe('Rendering…');
    expect(fake.message(interaction.followupIds[0] ?? '')?.content).toBe('The render failed.');
  });

  it('when Discord refuses an interaction token (50027), then the reply goes into the channel with the bot token', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    fake.expireInteraction(interaction.id);
    const id = await outbox.sendText(interactionAddress(interaction), 'Still here.');
    const message = fake.message(id);
    expect(message?.via).toBe('bot');
    expect(message?.content).toBe('Still here.');
    expect(fake.expiredTokenUses).toEqual([interaction.id]);
  });

  it('when the token has expired by the address, then edits post one successor message, from the address alone', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const live = interactionAddress(interaction);
    const progressId = await outbox.sendText(live, 'Rendering… 10 %');
    const expired = interactionAddress(interaction, -1);

    await outbox.editText(expired, progressId, 'Rendering… 60 %');
    await newOutbox().editText(expired, progressId, 'Rendering… 90 %');
    await newOutbox().editText(expired, progressId, 'Rendering… 90 %');

    expect(fake.message(interaction.originalMessageId ?? '')?.content).toBe('Rendering… 10 %');
    const successors = fake.messages(fake.channelId).filter((m) => m.via === 'bot');
    expect(successors).toHaveLength(1);
    expect(successors[0]?.history).toEqual(['Rendering… 60 %', 'Rendering… 90 %']);
    // The expired token was never sent.
    expect(fake.expiredTokenUses).toEqual([]);
  });

  it('when a channel message is edited, then it changes in place', async () => {
    const outbox = await setup();
    const id = await outbox.sendText(channelAddress(), 'Rendering… 5 %');
    await outbox.editText(channelAddress(), id, 'Rendering… 50 %');
    expect(fake.message(id)?.history).toEqual(['Rendering… 5 %', 'Rendering… 50 %']);
    expect(fake.messages(fake.channelId)).toHaveLength(1);
  });

  it('when a text is longer than 2000 characters, then it is split at line breaks into messages of at most 2000', async () => {
    const outbox = await setup();
    const lines = Array.from({ length: 60 }, (_, i) => `Line ${i}: ${'x'.repeat(60)}`);
    await outbox.sendText(channelAddress(), lines.join('\n'), { buttons: [{ label: 'Export', action: 'export' }], project: 'sess-1' });
    const messages = fake.messages(fake.channelId);
    expect(messages.length).toBe(3);
    for (const message of messages) expect([...message.content].length).toBeLessThanOrEqual(2000);
    expect(messages.map((m) => m.content).join('\n')).toBe(lines.join('\n'));
    // The buttons go under the last piece.
    expect(messages[0]?.components).toEqual([]);
    expect(messages[1]?.components).toEqual([]);
    expect(messages[2]?.components).not.toEqual([]);
  });

  it('when a reply carries buttons, then each custom id names action, owner and project, no key is written, and the owner can press them', async () => {
    const outbox = await setup();
    const keys = createRedisKeys(prefix);
    await new SessionStore(redis, keys).write(
      { platform: 'discord', chatId: fake.channelId, userId: fake.users.alice.id },
      { taskId: 't', sessionId: 'sess-1', nemoUserId: 'n', language: 'en', createdAt: 1, updatedAt: 1 },
    );
    const keysBefore = await redis.dbsize();
    await outbox.sendText(channelAddress(), 'Done.', {
      buttons: [
        { label: 'Export', action: 'export' },
        { label: 'Status', action: 'status' },
      ],
      project: 'sess-1',
    });
    expect(await redis.dbsize()).toBe(keysBefore);
    const [message] = fake.messages(fake.channelId);
    const ids = [...JSON.stringify(message?.components).matchAll(/"custom_id":"([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(ids).toHaveLength(2);
    const store = discordButtonStore(redis, keys);
    const presses = await Promise.all(ids.map((id) => store.press(id, { userId: fake.users.alice.id, chatId: fake.channelId })));
    expect(presses.map((press) => (press.kind === 'act' ? press.action : press.kind))).toEqual(['export', 'status']);
  });

  it('when Discord answers 429, then discord.js waits and the message is posted once', async () => {
    const outbox = await setup();
    fake.failNext('create-message', { status: 429, retryAfterSeconds: 0.2 });
    const started = Date.now();
    await outbox.sendText(channelAddress(), 'after the wait');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(fake.messages(fake.channelId).map((m) => m.content)).toEqual(['after the wait']);
    expect(fake.requests.filter((q) => q.route === 'create-message').map((q) => q.status)).toEqual([429, 200]);
  });

  it('when a video is sent, then it is streamed as multipart with the bot token, bytes intact', async () => {
    const outbox = await setup();
    const bytes = randomBytes(256 * 1024);
    const source = new PassThrough();
    const sending = outbox.sendVideo(channelAddress(fake.threadId), { ...video(bytes), size: bytes.length, stream: source });
    source.write(bytes.subarray(0, 1024));
    // The request is under way before the file has been read to the end: nothing is buffered whole.
    await waitFor(() => fake.requests.some((q) => q.route === 'create-message'), { message: 'the upload to start' });
    source.end(bytes.subarray(1024));
    await sending;

    const [message] = fake.messages(fake.threadId);
    expect(message?.via).toBe('bot');
    expect(message?.content).toBe('Video ready.');
    expect(message?.files).toHaveLength(1);
    expect(message?.files[0]?.sha256).toBe(sha256(bytes));
    expect(fake.requests.find((q) => q.route === 'create-message')?.auth).toBe('bot');
  });

  it('when the same delivery is sent again, then Discord hands back the first message and no second video appears', async () => {
    const outbox = await setup();
    const bytes = randomBytes(4096);
    await outbox.sendVideo(channelAddress(), video(bytes, 'render_again'));
    await newOutbox().sendVideo(channelAddress(), video(bytes, 'render_again'));
    expect(fake.messages(fake.channelId).filter((m) => m.files.length > 0)).toHaveLength(1);
  });

  it('when Discord answers 413, then sendVideo throws FileTooLargeForPlatformError', async () => {
    const outbox = await setup({ maxUploadBytes: 50_000 });
    const error = await outbox.sendVideo(channelAddress(), video(randomBytes(80_000))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileTooLargeForPlatformError);
    expect(fake.requests.filter((q) => q.route === 'create-message').map((q) => q.status)).toEqual([413]);
    expect(fake.messages(fake.channelId)).toEqual([]);
  });

  it("when the video is larger than the interaction's limit, then it is refused before a byte is sent", async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const address = interactionAddress(interaction, 60_000, { uploadLimit: 1000 });
    expect(outbox.maxUploadBytes(address)).toBe(1000);
    expect(outbox.maxUploadBytes(channelAddress())).toBe(10 * 1024 * 1024);
    const error = await outbox.sendVideo(address, video(randomBytes(2000))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileTooLargeForPlatformError);
    expect(fake.requests.filter((q) => q.route === 'create-message')).toEqual([]);
  });

  it('when the stream ends short of its announced size, then the upload fails and no message is created', async () => {
    const outbox = await setup();
    const bytes = randomBytes(1000);
    const error = await outbox.sendVideo(channelAddress(), { ...video(bytes), size: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordRequestError);
    expect(fake.messages(fake.channelId)).toEqual([]);
  });

  it('when an upload meets a 429, then it fails (a stream cannot be replayed) and nothing is posted', async () => {
    const outbox = await setup();
    fake.failNext('create-message', { status: 429, retryAfterSeconds: 0.05 });
    const error = await outbox.sendVideo(channelAddress(), video(randomBytes(2048))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordRequestError);
    expect((error as DiscordRequestError).message).toMatch(/cannot be replayed/);
    expect(fake.messages(fake.channelId)).toEqual([]);
  });

  it('when an interaction request fails, then the error names the route with the token masked', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    fake.failNext('webhook-edit', { status: 400, code: 50035, message: 'Invalid Form Body' });
    const error = (await outbox.sendText(interactionAddress(interaction), 'hello').catch((e: unknown) => e)) as DiscordRequestError;
    expect(error).toBeInstanceOf(DiscordRequestError);
    expect(error.code).toBe('discord_request_failed');
    expect(error.discordCode).toBe(50035);
    expect(error.route).toBe('PATCH /webhooks/:id/:token/messages/@original');
    expect(`${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`).not.toContain(interaction.token);
  });
  it('when an edit carries @everyone, then every edit route sends allowed_mentions {parse: []}', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const live = interactionAddress(interaction);
    const viaInteraction = await outbox.sendText(live, 'Uploading…');
    const inChannel = await outbox.sendText(channelAddress(), 'Uploading…');
    await outbox.editText(live, viaInteraction, 'Uploaded @everyone.mp4');
    await outbox.editText(channelAddress(), inChannel, 'Uploaded @everyone.mp4');
    // Past the token's life: a successor message, then its edit in place.
    await outbox.editText(interactionAddress(interaction, -1), viaInteraction, 'Rendering @here');
    await outbox.editText(interactionAddress(interaction, -1), viaInteraction, 'Rendered <@&123456789012345678>');

    const edits = fake.requests.filter((q) => q.method === 'PATCH' && JSON.stringify(q.body).match(/@everyone|@here|<@&/));
    expect(edits.map((q) => q.route).sort()).toEqual(['edit-message', 'edit-message', 'webhook-edit']);
    for (const edit of edits) expect((edit.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [] });
    const successor = fake.messages(fake.channelId).find((m) => m.history.includes('Rendering @here'));
    expect(successor?.history).toEqual(['Rendering @here', 'Rendered <@&123456789012345678>']);
  });

  it('when Discord answers 500 to an upload, then it is sent once, the error and one log line carry the answer, and nothing is posted', async () => {
    const outbox = await setup();
    fake.unfriendly({ uploads: 500 });
    const error = await outbox.sendVideo(channelAddress(), video(randomBytes(4096))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordRequestError);
    expect(error).not.toBeInstanceOf(FileTooLargeForPlatformError);
    expect((error as DiscordRequestError).status).toBe(500);
    expect((error as DiscordRequestError).message).toContain('500: Internal Server Error');
    expect(fake.requests.filter((q) => q.route === 'create-message').map((q) => q.status)).toEqual([500]);
    expect(logText.match(/Discord refused the video upload/g)).toHaveLength(1);
    expect(logText).toContain('500: Internal Server Error');
    expect(logText).not.toMatch(/already sent once|cannot be replayed/);
    expect(fake.messages(fake.channelId)).toEqual([]);
  });

  it('when Discord answers 400 to an upload, then the error carries its code and the caller can send the link instead', async () => {
    const outbox = await setup();
    fake.unfriendly({ uploads: 400 });
    const error = (await outbox.sendVideo(channelAddress(), video(randomBytes(4096))).catch((e: unknown) => e)) as DiscordRequestError;
    expect(error).toBeInstanceOf(DiscordRequestError);
    expect(error.discordCode).toBe(50035);
    expect(error.message).toMatch(/could not be read/);
    expect(fake.requests.filter((q) => q.route === 'create-message')).toHaveLength(1);
    fake.unfriendly({});
    await outbox.sendText(channelAddress(), 'Here is the link instead: https://example.invalid/v.mp4');
    expect(fake.messages(fake.channelId).map((m) => m.content)).toEqual(['Here is the link instead: https://example.invalid/v.mp4']);
  });

  it('when the interaction message was deleted (10008), then the edit posts its successor in the channel', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const live = interactionAddress(interaction);
    const progressId = await outbox.sendText(live, 'Working on it…');
    fake.unfriendly({ edits: 10008 });
    await outbox.editText(live, progressId, 'Done.');
    const successor = fake.messages(fake.channelId).find((m) => m.via === 'bot');
    expect(successor?.content).toBe('Done.');
  });

  it('when the interaction token is refused for an edit (50027), then the edit posts its successor in the channel', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const live = interactionAddress(interaction);
    const progressId = await outbox.sendText(live, 'Working on it…');
    fake.unfriendly({ edits: 50027 });
    await outbox.editText(live, progressId, 'Done.');
    await outbox.editText(live, progressId, 'Done, really.');
    const successors = fake.messages(fake.channelId).filter((m) => m.via === 'bot');
    expect(successors).toHaveLength(1);
    expect(successors[0]?.content).toBe('Done, really.');
  });

  it('when every edit answers 500, then editText throws a token-free error naming the route and the status', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const live = interactionAddress(interaction);
    const progressId = await outbox.sendText(live, 'Working on it…');
    const channelId = await outbox.sendText(channelAddress(), 'Working on it…');
    fake.unfriendly({ edits: 500 });
    const viaWebhook = (await outbox.editText(live, progressId, 'Done.').catch((e: unknown) => e)) as DiscordRequestError;
    const inChannel = (await outbox.editText(channelAddress(), channelId, 'Done.').catch((e: unknown) => e)) as DiscordRequestError;
    for (const error of [viaWebhook, inChannel]) {
      expect(error).toBeInstanceOf(DiscordRequestError);
      expect(error.status).toBe(500);
    }
    expect(viaWebhook.route).toBe('PATCH /webhooks/:id/:token/messages/:id');
    expect(`${viaWebhook.message}`).not.toContain(interaction.token);
  });

  it('when the server answers posts with something that is not a message, then the text is posted and later edits are skipped', async () => {
    const outbox = await setup();
    fake.unfriendly({ shapeless: true });
    const id = await outbox.sendText(channelAddress(), 'Working on it…');
    expect(id).toBe('');
    await outbox.editText(channelAddress(), id, 'Done.');
    expect(fake.messages(fake.channelId).map((m) => m.history)).toEqual([['Working on it…']]);
    expect(fake.requests.filter((q) => q.method === 'PATCH')).toEqual([]);
    expect(logText).toMatch(/without a message id/);
  });

  it('when an interaction named no channel and its token is refused, then nothing is posted to /channels//messages', async () => {
    const outbox = await setup();
    const interaction = await deferred(outbox);
    const address = { ...interactionAddress(interaction), chatId: '' };
    expect(await outbox.sendText(address, 'Through the interaction.')).toMatch(/^i:/);
    fake.expireInteraction(interaction.id);
    const error = (await outbox.sendText(address, 'No way to post.').catch((e: unknown) => e)) as DiscordRequestError;
    expect(error).toBeInstanceOf(DiscordRequestError);
    expect(error.message).toMatch(/named no channel/);
    expect(fake.requests.filter((q) => q.rawPath.includes('/channels//'))).toEqual([]);
  });
});
