/** Entry of the fake Bot API and fake NemoVideo's own process; see fake-world-process.ts. */
import { setTimeout as delay } from 'node:timers/promises';
import { startFakeNemo } from '../../test/fakes/nemo/index.js';
import { startFakeTelegram } from '../../test/fakes/telegram/index.js';
import { serveParent } from './child-process.js';
import type { FakeWorldReply, FakeWorldRequest, WriteTimes } from './fake-world-process.js';
import { ReplyWatch } from './reply-watch.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { users: number };
const nemo = await startFakeNemo();
const tg = await startFakeTelegram();
const watch = new ReplyWatch(tg.calls);
const people = Array.from({ length: options.users }, () => {
  const user = tg.user({ languageCode: 'en' });
  return { user, chat: tg.privateChat(user) };
});
// Each chat's next update going to the bot (a getUpdates answer written).
const handOuts = new Map<string, (at: bigint) => void>();
tg.onHandOut((update) => {
  const chatId = update.message === undefined ? undefined : String(update.message.chat.id);
  const resolve = chatId === undefined ? undefined : handOuts.get(chatId);
  if (chatId === undefined || resolve === undefined) return;
  handOuts.delete(chatId);
  resolve(process.hrtime.bigint());
});

async function writeAtRate(request: Extract<FakeWorldRequest, { type: 'writeAtRate' }>): Promise<WriteTimes> {
  const answer = new RegExp(request.answer);
  await tg.polling();
  const start = Date.now();
  const written: Array<Promise<{ handedOut: bigint; sign: bigint; answered: bigint; queued: bigint }>> = [];
  for (const [index, { user, chat }] of people.slice(request.first, request.first + request.count).entries()) {
    const wait = start + (index * 1000) / request.usersPerSecond - Date.now();
    if (wait > 0) await delay(wait);
    const chatId = String(chat.id);
    const answered = watch.next(chatId, answer, request.timeoutMs);
    const sign = watch.nextSign(chatId);
    // Set before the update is queued: a waiting long poll takes it at once, within `say`.
    const handedOut = new Promise<bigint>((resolve) => handOuts.set(chatId, resolve));
    const queued = process.hrtime.bigint();
    tg.say(chat, user, { text: request.text });
    written.push(answered.then(async (at) => ({ handedOut: await handedOut, sign: await sign, answered: at, queued })));
  }
  const times = await Promise.all(written);
  const micros = (from: bigint, to: bigint): number => Number(to - from) / 1000;
  return {
    signAfterHandOut: times.map((time) => micros(time.handedOut, time.sign)),
    signAfterQueued: times.map((time) => micros(time.queued, time.sign)),
    answerAfterQueued: times.map((time) => micros(time.queued, time.answered)),
  };
}

const parent = serveParent<FakeWorldRequest, FakeWorldReply>(
  async (request) => {
    switch (request.type) {
      case 'writeAtRate':
        return { type: 'written', ...(await writeAtRate(request)) };
      case 'check':
        return { type: 'checked', violations: [...nemo.violations.map((violation) => `NemoVideo: ${violation}`), ...tg.violations.map((violation) => `Bot API: ${violation}`)] };
      case 'close':
        return undefined;
    }
  },
  async () => {
    watch.cancel();
    await tg.close();
    await nemo.close();
  },
);
parent.reply({
  type: 'ready',
  telegramUrl: tg.url,
  token: tg.token,
  nemoUrl: nemo.url,
  users: people.map(({ user, chat }) => ({ userId: String(user.id), chatId: String(chat.id) })),
});
