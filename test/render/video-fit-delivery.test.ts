import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DiscordOutbox } from '../../adapters/discord/discord-outbox.js';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { createLogger } from '../../src/log.js';
import { EncodeSlots } from '../../src/media/encode-slots.js';
import type { VideoPrepSettings } from '../../src/render/video-prep.js';
import { startFakeDiscord } from '../fakes/discord/index.js';
import { startFakeTelegram } from '../fakes/telegram/index.js';
import { testRedis } from '../helpers/redis.js';
import { loopTestVideo, makeTestVideo, probeForTest } from '../helpers/test-video.js';
import { TEST_PACING } from '../telegram/telegram-harness.js';
import { DRAFT, renderRig, type RenderRig } from './render-harness.js';

const MiB = 1024 * 1024;
const TIMEOUT_MS = 120_000;

let media: string;
/** About 15 MiB: 640×360, 10 s, noise at 12 Mbit/s. */
let big: string;
let bigSize: number;
/** Well under every limit. */
let small: string;
/** 20 minutes of 480p: no bitrate under 10 MiB is worth watching. */
let long: string;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'fit-delivery-media-'));
  big = join(media, 'big.mp4');
  small = join(media, 'small.mp4');
  long = join(media, 'long.mp4');
  bigSize = await makeTestVideo(big, { width: 640, height: 360, seconds: 10, videoKbps: 12_000 });
  await makeTestVideo(small, { width: 320, height: 180, seconds: 4, videoKbps: 400 });
  const clip = join(media, 'clip.mp4');
  await makeTestVideo(clip, { width: 854, height: 480, seconds: 10, videoKbps: 150, audio: false });
  await loopTestVideo(clip, long, 120);
}, TIMEOUT_MS);

afterAll(async () => {
  await rm(media, { recursive: true, force: true });
});

let rig: RenderRig | undefined;
let workRoot: string;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rig?.close();
  rig = undefined;
  // Whatever happened, the work directories are gone.
  expect(await readdir(workRoot).catch(() => [])).toEqual([]);
  await rm(workRoot, { recursive: true, force: true });
});

async function setup(outputFile: string): Promise<RenderRig> {
  const { url, prefix } = testRedis();
  workRoot = await mkdtemp(join(tmpdir(), 'fit-delivery-work-'));
  rig = await renderRig({ redisUrl: url, prefix, fake: { renderScript: { pollsUntilComplete: 2, outputFile } } });
  return rig;
}

function prep(overrides: Partial<VideoPrepSettings> = {}): VideoPrepSettings {
  return { slots: new EncodeSlots(1), timeoutMs: 100_000, maxInputBytes: 200 * MiB, workRoot, ...overrides };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('render delivery through ffmpeg', () => {
  it('when a 15 MiB render goes to a chat with a 10 MiB limit, then a fitted video under it arrives with the full-quality link, its player metadata and a poster, after "Fitting…" progress', async () => {
    const r = await setup(big);
    expect(bigSize).toBeGreaterThan(14 * MiB);
    r.outbox.maxBytes = 10 * MiB;
    const { input, done } = await r.renderOnce({ timeoutMs: 90_000, worker: { video: prep() }, input: { draft: { ...DRAFT, title: 'City Timelapse!' }, version: 3 } });
    expect(done.state).toBe('completed');
    expect(done.returnvalue).toBe('delivered');
    expect(r.outbox.videos).toHaveLength(1);
    const sent = r.outbox.videos[0];
    expect(sent?.size).toBeLessThanOrEqual(10 * MiB);
    expect(sent?.size).toBeGreaterThan(0.8 * 10 * MiB);
    expect(sent?.filename).toMatch(/^city-timelapse-[A-Za-z0-9]{1,6}\.mp4$/);
    const outputUrl = `${r.fake.url}/cdn/${input.renderId}.mp4`;
    expect(sent?.caption).toContain(`Full quality: ${outputUrl}`);
    // Which version it is, and that a reply changes it, as under a video sent as it came.
    expect(sent?.caption).toMatch(/^Video ready: v3, made smaller to fit here\. Reply to this message to change it\./);
    expect(sent?.meta).toMatchObject({ width: 640, height: 360 });
    expect(Math.abs((sent?.meta?.durationSec ?? 0) - 10)).toBeLessThan(0.5);
    expect(sent?.thumbnail?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(sent?.cover?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(sent?.description).toBe('City Timelapse!: 360p video, 0:10');
    // What arrived is a real H.264 video of the same length.
    const file = join(media, 'arrived.mp4');
    await writeFile(file, sent?.bytes ?? Buffer.alloc(0));
    expect(await probeForTest(file)).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    const fitting = r.outbox.edits.map((e) => e.text).filter((text) => text.startsWith('Fitting the video for Telegram…'));
    expect(fitting[0]).toBe('Fitting the video for Telegram… 0 %');
    expect(fitting.length).toBeGreaterThan(1);
    expect(r.outbox.edits.at(-1)?.text).toBe('Video ready.');
  }, TIMEOUT_MS);

  it('when the render is under the limit, then it goes byte for byte, with width, height, length and a poster read by ffprobe', async () => {
    const r = await setup(small);
    const { done } = await r.renderOnce({ timeoutMs: 90_000, worker: { video: prep() } });
    expect(done.returnvalue).toBe('delivered');
    const sent = r.outbox.videos[0];
    expect(sha256(sent?.bytes ?? Buffer.alloc(0))).toBe(sha256(await readFile(small)));
    expect(sent?.meta).toMatchObject({ width: 320, height: 180 });
    expect(sent?.thumbnail?.length).toBeGreaterThan(0);
    expect(r.outbox.edits.some((e) => e.text.startsWith('Fitting'))).toBe(false);
  }, TIMEOUT_MS);

  it('when a 20-minute render cannot fit 10 MiB even at 480p, then the link goes as before and nothing is encoded', async () => {
    const r = await setup(long);
    r.outbox.maxBytes = 10 * MiB;
    const { input, done } = await r.renderOnce({ timeoutMs: 90_000, worker: { video: prep() } });
    expect(done.returnvalue).toBe('delivered-as-link');
    expect(r.outbox.videos).toEqual([]);
    expect(r.outbox.allText()).toContain(`${r.fake.url}/cdn/${input.renderId}.mp4`);
    expect(r.outbox.edits.some((e) => e.text.startsWith('Fitting'))).toBe(false);
    expect(r.logs.lines.join('\n')).toContain('too long to fit');
  }, TIMEOUT_MS);

  it('when ffmpeg is missing, then a render over the limit goes as a link', async () => {
    const r = await setup(big);
    r.outbox.maxBytes = 10 * MiB;
    const { done } = await r.renderOnce({ timeoutMs: 90_000, worker: { video: prep({ ffmpegPath: '/nonexistent/ffmpeg' }) } });
    expect(done.returnvalue).toBe('delivered-as-link');
    expect(r.outbox.videos).toEqual([]);
    expect(r.logs.lines.join('\n')).toContain('media_tool_missing');
  }, TIMEOUT_MS);

  it('when fitting is off (VIDEO_FIT_CONCURRENCY=0), then a render over the limit goes as a link', async () => {
    const r = await setup(big);
    r.outbox.maxBytes = 10 * MiB;
    const { done } = await r.renderOnce({ timeoutMs: 90_000, worker: { video: prep({ slots: undefined }) } });
    expect(done.returnvalue).toBe('delivered-as-link');
  }, TIMEOUT_MS);

  it('when the render is larger than VIDEO_FIT_MAX_INPUT_MB, then it is not downloaded whole: the link goes', async () => {
    const r = await setup(big);
    r.outbox.maxBytes = 10 * MiB;
    const { done } = await r.renderOnce({ timeoutMs: 90_000, worker: { video: prep({ maxInputBytes: 12 * MiB }) } });
    expect(done.returnvalue).toBe('delivered-as-link');
    expect(r.outbox.videos).toEqual([]);
  }, TIMEOUT_MS);
});

describe('end to end through the platforms’ wire protocols', () => {
  function silentLogger() {
    const destination = new PassThrough();
    destination.resume();
    return createLogger({ level: 'info', destination });
  }

  it('when a 15 MiB render goes to a Discord channel with a 10 MiB limit, then an attachment of at most 10 MiB arrives, named after the project, described, with the full-quality link', async () => {
    const r = await setup(big);
    const discord = await startFakeDiscord({ maxUploadBytes: 10 * MiB });
    cleanups.push(() => discord.close());
    const outbox = new DiscordOutbox({ token: discord.token, apiUrl: discord.apiUrl, maxUploadBytes: 10 * MiB, logger: silentLogger() });
    const address = { platform: 'discord' as const, chatId: discord.channelId, userId: discord.users.alice.id, extra: { guildId: discord.guildId, uploadLimit: 10 * MiB } };
    const { input, done } = await r.renderOnce({
      timeoutMs: 90_000,
      worker: { video: prep(), outboxes: { discord: outbox } },
      input: { address, sessionKey: { platform: 'discord', chatId: discord.channelId, userId: discord.users.alice.id }, draft: { ...DRAFT, name: 'Harbour at dusk' } },
    });
    expect(done.returnvalue).toBe('delivered');
    const withFile = discord.messages(discord.channelId).filter((m) => m.files.length > 0);
    expect(withFile).toHaveLength(1);
    const file = withFile[0]?.files[0];
    expect(file?.size).toBeLessThanOrEqual(10 * MiB);
    expect(file?.size).toBeGreaterThan(8 * MiB);
    expect(file?.filename).toMatch(/^harbour-at-dusk-[A-Za-z0-9]{1,6}\.mp4$/);
    expect(file?.description).toBe('Harbour at dusk: 360p video, 0:10');
    expect(withFile[0]?.content).toContain(`${r.fake.url}/cdn/${input.renderId}.mp4`);
    expect(discord.violations).toEqual([]);
  }, TIMEOUT_MS);

  it('when a render over the Telegram limit is sent, then a video under it arrives with width, height, duration, supports_streaming, a thumbnail and a cover', async () => {
    // The 60 MB → 50 MB, scaled down: the same path with a 9 MiB limit.
    const r = await setup(big);
    const telegram = await startFakeTelegram({ maxUploadBytes: 9 * MiB });
    cleanups.push(() => telegram.close());
    const outbox = new TelegramOutbox({ token: telegram.token, apiRoot: telegram.url, maxUploadBytes: 9 * MiB, logger: silentLogger(), pacing: TEST_PACING });
    cleanups.push(async () => outbox.close());
    const user = telegram.user();
    const chatId = String(telegram.privateChat(user).id);
    const address = { platform: 'telegram' as const, chatId, userId: String(user.id) };
    const { done } = await r.renderOnce({
      timeoutMs: 90_000,
      worker: { video: prep(), outboxes: { telegram: outbox } },
      input: { address, sessionKey: { platform: 'telegram', chatId, userId: String(user.id) } },
    });
    expect(done.returnvalue).toBe('delivered');
    const videos = telegram.sent.filter((m) => m.kind === 'video');
    expect(videos).toHaveLength(1);
    const video = videos[0];
    expect(video?.file?.size).toBeLessThanOrEqual(9 * MiB);
    expect(video?.supportsStreaming).toBe(true);
    expect(video?.player).toMatchObject({ width: 640, height: 360, duration: 10 });
    expect(video?.player?.thumbnail?.contentType).toBe('image/jpeg');
    expect(video?.player?.thumbnail?.size).toBeLessThanOrEqual(200 * 1024);
    expect(video?.player?.cover?.size).toBeGreaterThan(0);
    expect(telegram.violations).toEqual([]);
  }, TIMEOUT_MS);
});
