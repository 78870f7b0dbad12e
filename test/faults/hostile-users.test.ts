import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DocumentPool } from '../../src/core/document-pool.js';
import { inboxKey } from '../../src/core/inbox.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import type { RecordedRequest } from '../fakes/discord/index.js';
import { snowflake } from '../fakes/discord/snowflake.js';
import { adk } from '../fakes/nemo/index.js';
import type { BotMessage, TgChat } from '../fakes/telegram/index.js';
import { docxBomb, pdfBomb } from '../helpers/document-bombs.js';
import { watchMainThread } from '../helpers/main-thread-watch.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { buttonId, closeAndCheck as closeAndCheckDiscord, hasButtons, startDiscordRig, type DiscordRig } from '../discord/discord-harness.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from '../telegram/telegram-harness.js';
import { prng, seedFor, type Prng } from './support/prng.js';

const MB = 1024 * 1024;
const KEY = Buffer.alloc(32, 11).toString('base64');
// Personal tokens the fake NemoVideo accepts: one posted in a group by an attacker, one used properly.
const LEAKED = 'nmv_usr_leaked_in_a_group_000000000000042';
const PERSONAL = 'nmv_usr_personal_logged_in_0000000000007';
const MENTIONS = '@everyone <@&123> @here';
const ORDINARY = 20;
const FLOOD = 300;
const EXPORTS = 30;
// Defaults of src/config.ts: the test runs with them, not with limits of its own.
const MAX_QUEUED_TURNS = 3;
const LAG_BAR_MS = 100;
const RSS_BAR = 300 * MB;

const TOPICS = ['a sunset over the sea', 'a cat on a piano', 'rain on a window', 'a mountain road', 'a busy market', 'paper boats', 'a night train', 'autumn leaves'];

let rig: TelegramRig | undefined;
let redis: RedisServerHandle | undefined;
let probe: Redis | undefined;
let discordRig: DiscordRig | undefined;

afterEach(async () => {
  const discord = discordRig;
  discordRig = undefined;
  if (discord) await closeAndCheckDiscord(discord);
  probe?.disconnect();
  const current = rig;
  rig = undefined;
  probe = undefined;
  if (current) await closeAndCheck(current);
  if (redis) {
    await redis.stop();
    await rm(redis.dir, { recursive: true, force: true });
    redis = undefined;
  }
});

/** Every key of the server with every value, whatever its type. */
async function everyValue(client: Redis): Promise<{ text: string; keys: number }> {
  const out: string[] = [];
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys += 1;
      out.push(key);
      const type = await client.type(key);
      if (type === 'string') out.push((await client.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await client.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await client.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await client.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await client.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await client.xrange(key, '-', '+')));
      else if (type !== 'none') out.push(`<${type}>`);
    }
  } while (cursor !== '0');
  return { text: out.join('\n'), keys };
}

/** Every append-only file the server wrote (Redis 7 keeps them in a folder). */
async function appendOnlyText(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile() && /\.aof/.test(entry.name));
  expect(files.length).toBeGreaterThan(0);
  return (await Promise.all(files.map((entry) => readFile(join(entry.parentPath, entry.name), 'latin1')))).join('\n');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function buttonData(message: BotMessage | undefined, label: string): string {
  const data = message?.replyMarkup?.inline_keyboard.flat().find((b) => b.text === label)?.callback_data;
  if (data === undefined) throw new Error(`no "${label}" button`);
  return data;
}

describe('hostile users among ordinary ones', () => {
  it(
    'when attackers send document bombs, flood, export 30 times, forge button presses, wear mentions as names and post /login in a group while 20 people chat, then everyone is answered, the event loop and memory hold, the flood is capped, one render runs, forged presses do nothing and no token is in clear anywhere',
    async () => {
      const random: Prng = prng(seedFor('hostile-users'));
      // Built before the baseline: the 100 MB of XML is the test's memory, not the bot's.
      const bombs = { pdf: pdfBomb(1000), docx: docxBomb(100) };
      redis = await startRedis({ appendOnly: true });
      const documents = new DocumentPool();
      rig = await startTelegramRig({
        redisUrl: redis.url,
        documents,
        env: { TOKEN_ENCRYPTION_KEY: KEY, RENDER_POLL_INTERVAL_MS: '100', RENDER_MAX_POLLS: '3000' },
        nemo: { operatorTokens: [LEAKED, PERSONAL] },
      });
      const r = rig;
      const { tg, nemo } = r;
      expect(r.config.maxQueuedTurns).toBe(MAX_QUEUED_TURNS);
      const perMinute = r.config.userMessagesPerMinute;
      probe = new Redis(redis.url);
      const p = probe;

      // Peak RSS of the whole run, over what the process held once the rig was up.
      const rssBefore = process.memoryUsage.rss();
      let rssPeak = rssBefore;
      const rssSampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 20);

      /** Waits (polling gently, many waiters run at once) for a bot message in the chat after `from`. */
      const waitChat = async (chat: TgChat, pattern: RegExp, from: number, timeoutMs = 60_000): Promise<BotMessage> => {
        const id = String(chat.id);
        let found: BotMessage | undefined;
        let scanned = from;
        try {
          await waitFor(
            () => {
              for (; scanned < tg.sent.length; scanned += 1) {
                const m = tg.sent[scanned];
                if (m?.chatId === id && pattern.test(m.text ?? m.caption ?? '')) {
                  found = m;
                  return true;
                }
              }
              return false;
            },
            { timeoutMs, intervalMs: 50, message: `${pattern} in chat ${id}` },
          );
        } catch (error) {
          const seen = r.sentTo(chat.id).map((m) => `  [${m.messageId}] ${m.history.join(' ⟶ ')}`).join('\n');
          throw new Error(`${(error as Error).message}; the bot posted:\n${seen}`, { cause: error });
        }
        return found as BotMessage;
      };
      const allHandled = (): Promise<void> =>
        waitFor(async () => tg.unconfirmed() === 0 && (await p.hlen(inboxKey(r.prefix))) === 0, { timeoutMs: 60_000, intervalMs: 100, message: 'every update taken and handled' });

      // ---- Set-up: the people whose hostile acts come later, and a group answer with buttons.
      const flooder = tg.user({ firstName: 'Flooder' });
      const floodChat = tg.privateChat(flooder);
      const exporter = tg.user({ firstName: 'Exporter' });
      const exportChat = tg.privateChat(exporter);
      const gina = tg.user({ firstName: 'Gina' });
      const victimGroup = tg.group({ title: 'Victims' });
      const otherGroup = tg.group({ title: 'Elsewhere' });
      const forger = tg.user({ firstName: 'Forger' });
      const forgerChat = tg.privateChat(forger);
      const leaker = tg.user({ firstName: 'Leaker' });
      const bomber = tg.user({ firstName: 'Bomber' });
      const bomberChat = tg.privateChat(bomber);
      const mentioner = tg.user({ firstName: MENTIONS });
      const mentionerChat = tg.privateChat(mentioner);
      const loggedIn = tg.user({ firstName: 'Lou' });
      const loggedInChat = tg.privateChat(loggedIn);

      tg.say(floodChat, flooder, { text: 'flooder says hello' });
      tg.say(exportChat, exporter, { text: 'Generate a video of a quiet harbour' });
      tg.say(victimGroup, gina, { text: `@${tg.bot.username ?? ''} Generate a video of a lighthouse` });
      tg.say(forgerChat, forger, { text: '/help' });
      await waitChat(floodChat, /Happy to help with: flooder says hello/, 0);
      await waitChat(exportChat, /Keep them, or say/, 0);
      await waitChat(victimGroup, /Keep them, or say/, 0);
      await waitChat(forgerChat, /./, 0);
      const groupAnswer = r.sentTo(victimGroup.id).find((m) => m.replyMarkup?.inline_keyboard.flat().some((b) => b.text === 'Export'));
      const exportData = buttonData(groupAnswer, 'Export');
      const statusData = buttonData(groupAnswer, 'Status');
      const ginaToken = nemo.sseCalls.find((call) => call.text === 'Generate a video of a lighthouse')?.token ?? '';
      const floodSession = nemo.sseCalls.find((call) => call.text === 'flooder says hello')?.sessionId ?? '';
      expect(ginaToken).not.toBe('');
      expect(floodSession).not.toBe('');

      // ---- Ordinary people: each sends a few messages, one at a time, and waits for the answer.
      const people = Array.from({ length: ORDINARY }, (_, i) => {
        const user = tg.user({ firstName: `Person ${i}` });
        return { user, chat: tg.privateChat(user), answered: 0, answeredWhileParsing: 0 };
      });
      const chatOnce = async (person: (typeof people)[number], n: number): Promise<void> => {
        const index = people.indexOf(person);
        const topic = random.pick(TOPICS);
        const from = tg.sent.length;
        // Some ask for a video, the others just talk: both kinds of answer must come.
        if (random.chance(0.3)) {
          tg.say(person.chat, person.user, { text: `Generate a video of ${topic} (${index}.${n})` });
          await waitChat(person.chat, /Keep them, or say/, from);
        } else {
          const text = `tell me about ${topic} (${index}.${n})`;
          tg.say(person.chat, person.user, { text });
          await waitChat(person.chat, new RegExp(`Happy to help with: ${escape(text)}`), from);
        }
        person.answered += 1;
        if (documents.load.active > 0) person.answeredWhileParsing += 1;
      };
      const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

      // ---- Phase 1, measured: the bombs, while everyone sends their first message.
      const window = await watchMainThread(async () => {
        const from = tg.sent.length;
        tg.say(bomberChat, bomber, { media: { kind: 'document', file: tg.file({ bytes: bombs.pdf }), fileName: 'bomb.pdf', mimeType: 'application/pdf' } });
        tg.say(mentionerChat, mentioner, { caption: `${MENTIONS} read this`, media: { kind: 'document', file: tg.file({ bytes: bombs.docx }), fileName: `${MENTIONS}.docx` } });
        await waitFor(() => documents.load.active > 0, { timeoutMs: 30_000, message: 'a bomb being parsed' });
        const starts = people.map(() => random.int(0, 1500));
        await Promise.all(people.map(async (person, i) => {
          await pause(starts[i] ?? 0);
          await chatOnce(person, 1);
        }));
        // Within the default limits the PDF is read up to its page cap (or, on a slow day, refused
        // at the time limit): either way its sender hears which, and nothing waits on it.
        const pdfOutcome = await waitChat(bomberChat, /too large or too complex to read: "bomb\.pdf"|Happy to help with: \[bomb\.pdf\]/, from, 90_000);
        const docxRefusal = await waitChat(mentionerChat, /too large or too complex to read/, from, 90_000);
        return { pdfOutcome, docxRefusal };
      });
      if (!window.outcome.ok) throw window.outcome.error;
      const { pdfOutcome, docxRefusal } = window.outcome.value;
      if (/Happy to help/.test(pdfOutcome.text ?? '')) {
        // Read, but only up to the cap, and the sender was told so.
        const capNote = r.sentTo(bomberChat.id).find((m) => /"bomb\.pdf" has many pages, so I used its first \d+/.test(m.text ?? ''));
        expect(capNote).toBeDefined();
        const pdfTurn = nemo.sseCalls.find((call) => call.text.startsWith('[bomb.pdf]'))?.text ?? '';
        expect(pdfTurn.split('Bomb page').length - 1).toBeLessThanOrEqual(documents.limits.maxPdfPages);
      }
      const whileParsing = people.reduce((sum, person) => sum + person.answeredWhileParsing, 0);
      const phase1 = { pdf: /Happy to help/.test(window.outcome.value.pdfOutcome.text ?? '') ? 'read to its page cap' : 'refused', lagP99Ms: window.lagP99Ms, lagMaxMs: window.lagMaxMs, rssGrowthMb: window.rssGrowthBytes / MB, durationMs: window.durationMs, answeredWhileParsing: whileParsing };

      // ---- Phase 2: the flood, the exports, the forged presses and the group /login, as people go on chatting.
      let release: () => void = () => undefined;
      const until = new Promise<void>((resolve) => (release = resolve));
      nemo.scriptTurn({ sessionId: floodSession, frames: [{ kind: 'wait', until }, { kind: 'event', event: adk.text('Held answer.') }] });
      tg.say(floodChat, flooder, { text: 'flood first' });
      await waitFor(() => nemo.sseCalls.some((call) => call.text === 'flood first'), { timeoutMs: 30_000, message: 'the held turn at the agent' });
      const floodFrom = tg.sent.length;

      const ordinaryRest = Promise.all(people.map(async (person) => {
        await pause(random.int(0, 2000));
        await chatOnce(person, 2);
        await pause(random.int(0, 1000));
        await chatOnce(person, 3);
      }));

      for (let i = 1; i <= FLOOD; i++) tg.say(floodChat, flooder, { text: `flood ${i}` });

      // The render stays in flight until the 30 exports are all handled; then it is let finish.
      nemo.scriptRender({ pollsUntilComplete: 1_000_000 });
      const exportFrom = tg.sent.length;
      for (let i = 0; i < EXPORTS; i++) tg.say(exportChat, exporter, { text: 'export' });

      // The mention-laden name says something the agent echoes.
      const echoFrom = tg.sent.length;
      tg.say(mentionerChat, mentioner, { text: `${MENTIONS} say hi` });
      const mentionEcho = await waitChat(mentionerChat, /^Happy to help with: /, echoFrom);

      // /login with a real personal token, posted in a group; and one person logging in properly.
      const leakFrom = tg.sent.length;
      tg.say(otherGroup, leaker, { text: `/login ${LEAKED}` });
      tg.say(loggedInChat, loggedIn, { text: `/login ${PERSONAL}` });
      const leakAnswer = await waitChat(otherGroup, /send \/login only in a private chat/, leakFrom);
      await waitChat(loggedInChat, /logged in/, leakFrom);

      // Forged presses: the group's Export and Status from other chats, and presses of odd shapes.
      const pressedAt = Date.now();
      const victimBefore = r.sentTo(victimGroup.id).length;
      const forgerBefore = r.sentTo(forgerChat.id).length;
      const forgerMessage = r.sentTo(forgerChat.id)[0] as BotMessage;
      const presses = [
        tg.press(forger, forgerMessage, exportData),
        tg.press(forger, forgerMessage, statusData),
        tg.press(forger, leakAnswer, exportData),
        tg.press(forger, groupAnswer as BotMessage, exportData, { mangle: ({ from: _from, ...rest }) => ({ ...rest, from: { id: 'not-a-number' } }) }),
        tg.press(forger, groupAnswer as BotMessage, exportData, { mangle: (query) => ({ ...query, data: { action: 'export' } }) }),
      ];
      await waitFor(() => presses.every((id) => tg.callbackAnswers.some((answer) => answer.id === id)), { timeoutMs: 30_000, message: 'every forged press answered' });

      await ordinaryRest;
      await allHandled();
      // Every export handled: now let the one render finish (once the worker has submitted it).
      await waitFor(() => nemo.renders.size > 0, { timeoutMs: 30_000, message: 'the render submitted' });
      const renders = [...nemo.renders.values()];
      expect(renders).toHaveLength(1);
      const render = renders[0]!;
      render.script.pollsUntilComplete = render.polls + 1;
      await waitFor(() => r.sentTo(exportChat.id).some((m) => m.kind === 'video'), { timeoutMs: 30_000, message: 'the video' });

      release();
      const floodAfter = (): BotMessage[] => r.sentTo(floodChat.id).filter((m) => tg.sent.indexOf(m) >= floodFrom);
      // The held turn is answered, then every turn that was told it is queued.
      await waitFor(
        () => {
          const texts = floodAfter().map((m) => m.text ?? '');
          return texts.some((t) => t.includes('Held answer.')) && texts.filter((t) => /^Happy to help with: flood \d+$/.test(t)).length === texts.filter((t) => /^Got it\./.test(t)).length;
        },
        { timeoutMs: 30_000, message: 'the flooder answered' },
      );
      await waitFor(async () => (await r.app.engine.recoverInterrupted()) === 0, { timeoutMs: 30_000, message: 'nothing waiting' });
      await allHandled();
      clearInterval(rssSampler);
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());

      // ---- What it cost and what everyone got.
      const floodTurns = nemo.sseCalls.filter((call) => /^flood( first|\s\d+$)/.test(call.text));
      const NOTICE = /^(Got it\.|You have \d+ messages waiting|You're sending messages faster)/;
      const floodNotices = floodAfter().filter((m) => NOTICE.test(m.text ?? ''));
      // Besides the notices only turns' progress and answers: nothing per flooded message.
      expect(floodAfter().filter((m) => !NOTICE.test(m.text ?? '') && !/^(Working on it|Happy to help with: flood|Held answer)/.test(m.history[0] ?? '') && !/Held answer/.test(m.text ?? ''))).toEqual([]);
      const exportReplies = r.sentTo(exportChat.id).filter((m) => tg.sent.indexOf(m) >= exportFrom);
      const summary = {
        seed: random.seed,
        phase1,
        rssGrowthMb: (rssPeak - rssBefore) / MB,
        floodTurns: floodTurns.length,
        floodNotices: floodNotices.map((m) => (m.text ?? '').slice(0, 40)),
        exportReplies: exportReplies.length,
        sseCalls: nemo.sseCalls.length,
      };
      process.stdout.write(`[hostile-users] ${JSON.stringify(summary)}\n`);

      // Everyone ordinary was answered, each time; and some of them while a bomb was being parsed.
      for (const person of people) expect(person.answered, `person ${people.indexOf(person)} answered`).toBe(3);
      expect(whileParsing, 'people answered while a bomb was in its thread').toBeGreaterThan(0);

      // The main thread held while the bombs were handled; memory too, over the whole run.
      expect(window.lagP99Ms, `p99 event-loop lag during the bombs (max ${window.lagMaxMs.toFixed(1)} ms)`).toBeLessThan(LAG_BAR_MS);
      expect(rssPeak - rssBefore).toBeLessThan(RSS_BAR);
      expect(documents.load).toEqual({ active: 0, queued: 0 });

      // The flood: the held turn and at most MAX_QUEUED_TURNS more reached the agent; a few notices, not 300.
      expect(floodTurns[0]?.text).toBe('flood first');
      expect(floodTurns.length).toBeLessThanOrEqual(MAX_QUEUED_TURNS + 1);
      expect(floodTurns.length).toBeGreaterThan(1);
      expect(floodNotices.filter((m) => /^Got it\./.test(m.text ?? ''))).toHaveLength(MAX_QUEUED_TURNS);
      expect(floodNotices.filter((m) => new RegExp(`at most ${perMinute} a minute`).test(m.text ?? '')).length).toBeGreaterThanOrEqual(1);
      expect(floodNotices.length).toBeLessThanOrEqual(8);

      // 30 exports, one render: the first starts it, the others hear it is running (or, past the rate, a notice or nothing).
      expect(nemo.renders.size).toBe(1);
      expect(render.sessionId).not.toBe('');
      expect(exportReplies.filter((m) => m.history[0] === "Rendering… I'll post the progress as it goes.")).toHaveLength(1);
      expect(exportReplies.filter((m) => /^This project is already rendering/.test(m.text ?? '')).length).toBeGreaterThan(0);
      expect(exportReplies.filter((m) => m.kind === 'video')).toHaveLength(1);
      expect(exportReplies.length).toBeLessThanOrEqual(EXPORTS + 2);

      // Forged presses: answered with a hint, nothing posted, nothing asked of NemoVideo for the group.
      expect(presses.map((id) => tg.callbackAnswers.find((answer) => answer.id === id)?.text)).toEqual([
        expect.stringMatching(/another chat/),
        expect.stringMatching(/another chat/),
        expect.stringMatching(/another chat/),
        expect.stringMatching(/can't read this button/),
        expect.stringMatching(/can't read this button/),
      ]);
      expect(r.sentTo(victimGroup.id)).toHaveLength(victimBefore);
      expect(r.sentTo(forgerChat.id)).toHaveLength(forgerBefore);
      expect(nemo.requests.filter((req) => req.at >= pressedAt && req.headers.authorization === `Bearer ${ginaToken}`)).toEqual([]);

      // Mentions in a name and a file name reach the texts as plain text: no parse mode anywhere.
      expect(docxRefusal.text).toContain(`"${MENTIONS}.docx"`);
      // A first answer carries the one-line welcome under it (issue 14).
      expect(mentionEcho.text?.split('\n')[0]).toBe(`Happy to help with: ${MENTIONS} say hi`);
      expect(tg.calls.filter((call) => call.params.parse_mode !== undefined || call.params.entities !== undefined)).toEqual([]);

      // The /login in the group: deleted, never echoed there.
      expect(tg.calls.some((call) => call.method === 'deleteMessage' && call.chatId === String(otherGroup.id))).toBe(true);

      // No token in clear: not in Redis (every key), not in its append-only file, not in any reply or log line.
      const secrets = [LEAKED, PERSONAL, tg.token, ...nemo.issuedTokens];
      expect(nemo.issuedTokens.length).toBeGreaterThan(ORDINARY);
      const stored = await everyValue(p);
      const onDisk = await appendOnlyText(redis.dir);
      const replies = [...tg.sent.map((m) => JSON.stringify({ ...m, file: m.file ? { ...m.file, bytes: undefined } : undefined })), ...tg.calls.map((c) => JSON.stringify(c.params))].join('\n');
      const logs = r.logs();
      // The searches can fail: the sealed identities and the inbox did reach Redis and the disk.
      expect(stored.text).toContain(createRedisKeys(r.prefix).identity('telegram', String(loggedIn.id)));
      expect(onDisk).toContain(createRedisKeys(r.prefix).inbox());
      for (const secret of secrets) {
        expect(stored.text.includes(secret), 'a token in clear in Redis').toBe(false);
        expect(onDisk.includes(secret), 'a token in clear in the append-only file').toBe(false);
        expect(replies.includes(secret), 'a token in a reply').toBe(false);
        expect(logs.includes(secret), 'a token in a log line').toBe(false);
      }
    },
    240_000,
  );

  it('when a Discord user named "@everyone" writes mentions the bot echoes, runs /video and exports, then every message the bot posts or edits carries allowed_mentions {parse: []}', async () => {
    const random = prng(seedFor('hostile-users:discord', 'hostile-users'));
    discordRig = await startDiscordRig({ env: { TOKEN_ENCRYPTION_KEY: KEY } });
    const r = discordRig;
    const { discord } = r;
    const everyone = { id: snowflake(), username: '@everyone', bot: false };
    const channelId = discord.channelId;
    const words = `${MENTIONS} <@${discord.users.alice.id}> ${random.pick(TOPICS)}`;

    discord.userMessage({ author: everyone, channelId, content: words, mentionBot: true });
    await r.waitMessage(channelId, (m) => m.via !== 'user' && m.content.startsWith(`Happy to help with: `) && m.content.includes('@here'), 'the echo of the mentions', 30_000);
    const interaction = discord.slashCommand({ user: everyone, channelId, name: 'video', options: { prompt: `Generate a video of ${words}` } });
    const answer = await r.waitMessage(channelId, (m) => hasButtons(m) && m.interactionId === interaction.id, 'the answer with buttons', 30_000);
    discord.pressButton({ user: everyone, messageId: answer.id, customId: buttonId(answer, 'export') });
    await r.waitMessage(channelId, (m) => m.files.length > 0, 'the video', 30_000);
    const dm = discord.dmChannel(everyone);
    discord.userMessage({ author: everyone, channelId: dm, content: words });
    await r.waitMessage(dm, (m) => m.via !== 'user' && m.content.includes('@everyone'), 'the echo in a DM', 30_000);
    await waitFor(() => discord.messages(channelId).every((m) => !m.loading), { message: 'every deferred reply filled' });

    /** The message a request posts or edits: the body itself, or an interaction callback's `data`. */
    const messageOf = (request: RecordedRequest): Record<string, unknown> | undefined => {
      const body = request.body as Record<string, unknown> | undefined;
      if (body === undefined) return undefined;
      // Only types 4 (a reply) and 7 (an update) write a message; 5 and 6 defer, with nothing to show.
      if (request.route === 'interaction-callback') return body.type === 4 || body.type === 7 ? ((body.data as Record<string, unknown> | undefined) ?? {}) : undefined;
      return body;
    };
    const writes = discord.requests.filter((q) => ['create-message', 'edit-message', 'followup', 'webhook-edit', 'interaction-callback'].includes(q.route) && q.method !== 'GET');
    const carrying = writes.map((q) => ({ route: q.route, method: q.method, message: messageOf(q) })).filter((w) => w.message !== undefined);
    // The check can fail: user text with mentions was posted, and messages were edited.
    expect(carrying.some((w) => /@everyone|@here|<@&123>/.test(String(w.message?.content ?? '')))).toBe(true);
    expect(carrying.filter((w) => w.method === 'PATCH').length).toBeGreaterThan(0);
    expect(carrying.filter((w) => w.method === 'POST').length).toBeGreaterThan(0);
    expect(carrying.map((w) => w.route)).toEqual(expect.arrayContaining(['create-message', 'webhook-edit', 'followup']));
    const without = carrying.filter((w) => JSON.stringify(w.message?.allowed_mentions) !== JSON.stringify({ parse: [] }));
    expect(without.map((w) => `${w.method} ${w.route}: ${JSON.stringify(w.message)}`.slice(0, 300))).toEqual([]);
    expect(discord.violations).toEqual([]);
  }, 90_000);
});
