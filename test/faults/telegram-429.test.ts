import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import type { ChatAddress } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { startFakeTelegram, type ApiCall, type BotMessage, type FakeTelegram, type ScriptedFailure } from '../fakes/telegram/index.js';
import { startTelegramRig, TEST_PACING, type TelegramRig } from '../telegram/telegram-harness.js';
import { waitFor } from '../helpers/wait-for.js';
import { prng, seedFor } from './support/prng.js';

const tooMany = (seconds: number): ScriptedFailure => ({ code: 429, description: `Too Many Requests: retry after ${seconds}`, retryAfter: seconds });

/** Scripts 429s and remembers their retry_after per method, in the order the fake will answer them. */
class Storm {
  readonly waits = new Map<string, number[]>();
  scripted = 0;
  constructor(private readonly fake: FakeTelegram) {}

  add(method: string, seconds: number, times: number): void {
    this.fake.failNext(method, tooMany(seconds), times);
    const list = this.waits.get(method) ?? [];
    for (let i = 0; i < times; i += 1) list.push(seconds);
    this.waits.set(method, list);
    this.scripted += times;
  }

  /** Every refused call was made again in the same chat, no earlier than its retry_after. */
  retriesTooEarly(calls: readonly ApiCall[]): string[] {
    const problems: string[] = [];
    const answered = new Map<string, number>();
    calls.forEach((call, index) => {
      if (call.failed !== 429 || call.chatId === undefined) return;
      const n = answered.get(call.method) ?? 0;
      answered.set(call.method, n + 1);
      const waitMs = (this.waits.get(call.method)?.[n] ?? 0) * 1000;
      const next = calls.slice(index + 1).find((later) => later.chatId === call.chatId && later.method !== 'sendChatAction');
      if (next === undefined) problems.push(`${call.method} to ${call.chatId} refused with 429 and never tried again`);
      else if (next.at - call.at < waitMs - 20) problems.push(`${next.method} to ${call.chatId} ${next.at - call.at} ms after a 429 asking for ${waitMs} ms`);
    });
    return problems;
  }
}

let tg: FakeTelegram | undefined;
let outbox: TelegramOutbox | undefined;
let rig: TelegramRig | undefined;

afterEach(async () => {
  outbox?.close();
  await tg?.close();
  if (rig) {
    const current = rig;
    rig = undefined;
    await current.close();
  }
  outbox = tg = undefined;
});

describe('Telegram 429 storms', () => {
  it('when sends and edits into 40 chats meet a storm of scripted 429s, then every message and edit lands once, in order, and nothing is written before retry_after', async () => {
    const seed = seedFor('telegram-429 outbox', 'telegram-429');
    const rand = prng(seed);
    tg = await startFakeTelegram();
    const fake = tg;
    const logger = createLogger({ level: 'silent', destination: new PassThrough() });
    outbox = new TelegramOutbox({ token: fake.token, apiRoot: fake.url, maxUploadBytes: 50 * 1024 * 1024, logger, pacing: TEST_PACING });
    const out = outbox;

    const CHATS = 40;
    const SENDS = 6;
    const chats = Array.from({ length: CHATS }, (_, i) => {
      const user = fake.user({ firstName: `Storm${i}` });
      // A few groups too: their ids are negative, and their pacing lane is another code path.
      const chat = i % 5 === 0 ? fake.group({ title: `Storm group ${i}` }) : fake.privateChat(user);
      const address: ChatAddress = { platform: 'telegram', chatId: String(chat.id), userId: String(user.id) };
      return { index: i, address };
    });
    // The storm: scripted ahead, so that it lands on whichever chats call next.
    const storm = new Storm(fake);
    for (const method of ['sendMessage', 'editMessageText']) {
      for (let burst = 0; burst < 12; burst += 1) storm.add(method, rand.int(1, 2), rand.int(1, 3));
    }

    // Each chat: a burst of sends and edits, all issued at once, in order, as the engine does
    // when a turn reports progress and answers while the chat is paused.
    const sequences = chats.map(({ index, address }) => {
      const work: Array<Promise<unknown>> = [];
      const edits: string[][] = [];
      for (let n = 1; n <= SENDS; n += 1) {
        const text = `chat ${index} message ${n}`;
        const sent = out.sendText(address, text);
        work.push(sent);
        const versions = Array.from({ length: rand.int(0, 3) }, (_, e) => `${text} (edit ${e + 1})`);
        edits.push(versions);
        for (const version of versions) work.push(sent.then((id) => out.editText(address, id, version)));
      }
      return { address, index, edits, done: Promise.all(work) };
    });
    await Promise.all(sequences.map((s) => s.done));

    const refused = fake.calls.filter((call) => call.failed === 429);
    process.stdout.write(`[telegram-429 outbox] seed ${seed}; ${storm.scripted} 429s scripted, ${refused.length} answered\n`);
    expect(refused.length).toBe(storm.scripted);
    for (const { address, index, edits } of sequences) {
      const posted = fake.sent.filter((m) => m.chatId === address.chatId).sort((a, b) => a.messageId - b.messageId);
      // Nothing lost, nothing doubled, in call order.
      expect(posted.map((m) => m.history[0]), `chat ${index}`).toEqual(Array.from({ length: SENDS }, (_, n) => `chat ${index} message ${n + 1}`));
      posted.forEach((message, n) => {
        const versions = edits[n] ?? [];
        // The newest edit wins; edits that waited together may collapse, but never go back in time.
        expect(message.text).toBe(versions.at(-1) ?? `chat ${index} message ${n + 1}`);
        const seen = message.history.slice(1);
        expect(seen.every((text, i) => i === 0 || versions.indexOf(text) > versions.indexOf(seen[i - 1] ?? ''))).toBe(true);
      });
    }
    expect(fake.violations, 'writes into a chat before its retry_after').toEqual([]);
    expect(storm.retriesTooEarly(fake.calls)).toEqual([]);
  });

  it('when 429s with retry_after hit sendMessage, editMessageText and sendVideo while 20 people generate and export, then each chat gets every answer and its video once, in order, and nothing is written early', async () => {
    const seed = seedFor('telegram-429 e2e', 'telegram-429');
    const rand = prng(seed);
    rig = await startTelegramRig({ nemo: { renderScript: { pollsUntilComplete: 3 } }, env: { RENDER_POLL_INTERVAL_MS: '100' } });
    const { tg: fake, nemo } = rig;
    const PEOPLE = 20;
    const MAX_VIDEO_429 = 4;
    const storm = new Storm(fake);
    let video429 = 0;
    const gust = (): void => {
      if (!rand.chance(0.6)) return;
      const method = rand.pick(['sendMessage', 'sendMessage', 'editMessageText', 'editMessageText', 'sendVideo']);
      // A refused video is re-sent by the render job with backoff (5 attempts): a few at most.
      if (method === 'sendVideo' && video429 >= MAX_VIDEO_429) return;
      if (method === 'sendVideo') video429 += 1;
      storm.add(method, rand.int(1, 2), method === 'sendVideo' ? 1 : rand.int(1, 2));
    };
    storm.add('sendVideo', 1, 1);
    video429 += 1;

    const people = Array.from({ length: PEOPLE }, (_, i) => {
      const user = fake.user({ firstName: `Busy${i}`, languageCode: 'en' });
      return { i, user, chat: fake.privateChat(user) };
    });
    const current = rig;
    await Promise.all(
      people.map(async ({ i, user, chat }) => {
        gust();
        fake.say(chat, user, { text: `Generate a video of a crowded market number ${i}` });
        await current.waitSent(chat.id, /Keep them, or say/, { timeoutMs: 60_000 });
        gust();
        fake.say(chat, user, { text: '/export' });
        await waitFor(() => current.sentTo(chat.id).some((m) => m.kind === 'video'), { timeoutMs: 90_000, message: `the video of person ${i}` });
      }),
    );
    // The last progress edits come after the videos.
    await waitFor(() => people.every(({ chat }) => current.sentTo(chat.id).some((m) => m.text === 'Video ready.')), {
      timeoutMs: 30_000,
      message: 'every render progress message saying the video is ready',
    });
    await rig.app.worker?.worker.close();

    const refused = fake.calls.filter((call) => call.failed === 429);
    process.stdout.write(`[telegram-429 e2e] seed ${seed}; 429s answered: ${JSON.stringify(countBy(refused.map((c) => c.method)))}\n`);
    expect(refused.some((call) => call.method === 'sendVideo')).toBe(true);
    for (const { i, chat } of people) {
      const posted: BotMessage[] = current.sentTo(chat.id).sort((a, b) => a.messageId - b.messageId);
      // Nothing lost, nothing doubled, in order: set-up, progress, answer, render progress, video.
      expect(posted.map((m) => (m.kind === 'video' ? 'VIDEO' : (m.history[0] ?? '').split('\n')[0])), `person ${i}`).toEqual([
        'Setting things up…',
        'Ready! Tell me what to make, for example:',
        'Working on it…',
        // The generated clip by URL, before the answer (issue 15).
        'Raw clip, as generated (export for the final cut):',
        'Generating the clip now.',
        "Rendering… I'll post the progress as it goes.",
        'VIDEO',
      ]);
      expect(posted[2]?.text).toBe('Done: video generated.');
      expect(posted[5]?.text).toBe('Video ready.');
      // Every render serves the same fixture: any render's hash is the video's.
      expect(posted[6]?.file?.sha256).toBe(nemo.outputSha256([...nemo.renders.keys()][0] ?? ''));
    }
    expect(fake.sent.filter((m) => m.kind === 'video')).toHaveLength(PEOPLE);
    expect(fake.violations, 'writes into a chat before its retry_after').toEqual([]);
    expect(storm.retriesTooEarly(fake.calls)).toEqual([]);
    expect(refused).toHaveLength(storm.scripted);
    expect(nemo.violations).toEqual([]);
  }, 180_000);
});

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values) out[value] = (out[value] ?? 0) + 1;
  return out;
}

