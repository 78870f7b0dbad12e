import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import type { ChatAddress } from '../../src/core/types.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { TEST_PACING } from './telegram-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ tg: FakeTelegram; outbox: TelegramOutbox; to: ChatAddress }> {
  const tg = await startFakeTelegram();
  cleanups.push(() => tg.close());
  const outbox = new TelegramOutbox({ token: tg.token, apiRoot: tg.url, maxUploadBytes: 50 * 1024 * 1024, logger: pino({ level: 'silent' }), pacing: TEST_PACING });
  cleanups.push(async () => outbox.close());
  const user = tg.user();
  return { tg, outbox, to: { platform: 'telegram', chatId: String(tg.privateChat(user).id), userId: String(user.id) } };
}

const CLIP = 'https://cdn.nemo.test/generated/call_1.mp4';

describe('TelegramOutbox, clip previews before export', () => {
  it('when a generated clip is small enough for Telegram to fetch, then it is sent as a video by URL, marked as the raw clip', async () => {
    const { tg, outbox, to } = await setup();
    await outbox.sendClipPreview(to, { url: CLIP, caption: 'Raw clip, as generated (export for the final cut):', sizeBytes: 3_000_000, durationSec: 5 });
    expect(tg.sent).toHaveLength(1);
    expect(tg.sent[0]).toMatchObject({ kind: 'video-by-url', url: CLIP, caption: 'Raw clip, as generated (export for the final cut):', supportsStreaming: true });
    expect(tg.calls.find((c) => c.method === 'sendVideo')?.params.duration).toBe(5);
    expect(tg.violations).toEqual([]);
  });

  it('when the clip is known to be over 20 MB, then its link goes as text and Telegram is not asked to fetch it', async () => {
    const { tg, outbox, to } = await setup();
    await outbox.sendClipPreview(to, { url: CLIP, caption: 'Raw clip:', sizeBytes: 25 * 1024 * 1024 });
    expect(tg.calls.some((c) => c.method === 'sendVideo')).toBe(false);
    expect(tg.sent.map((m) => m.text)).toEqual([`Raw clip:\n${CLIP}`]);
  });

  it('when Telegram cannot fetch the URL, then the link goes instead', async () => {
    const { tg, outbox, to } = await setup();
    tg.failNext('sendVideo', { code: 400, description: 'Bad Request: failed to get HTTP URL content' });
    await outbox.sendClipPreview(to, { url: CLIP, caption: 'Raw clip:' });
    expect(tg.sent.map((m) => m.text)).toEqual([`Raw clip:\n${CLIP}`]);
  });
});
