import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emptyDraft, textTrack, videoTrack, withTracks } from '../fakes/nemo/index.js';
import { startConsoleBot, type ConsoleBot } from '../e2e/console-harness.js';
import { waitFor } from '../helpers/wait-for.js';
import { startAdkServer, type AdkServer } from './adk-server.js';
import { startRouter, type Router } from './router.js';
import type { ModelChunk } from './scripted-agents.js';

// The whole bot (the terminal chat, as `npm start -- console` wires it) against Google's own
// ADK API server (`@google/adk` 2.x, the JS ADK's `/run_sse`), driven by agents without an
// LLM, behind a small router that sends every other path to the fake NemoVideo.
//
// The silent turn lasts ADK_SILENT_TURN_MS (default 3 s; the 20 s with
// ADK_SILENT_TURN_MS=20000). What a silent stretch exercises is relative to the bot's timers,
// which the test sets from it: the "Still working…" period is a third of it and the idle
// timeout is well above it, so 3 s of a keep-alive-less stream crosses the notice several times
// and a short idle clock would cut it, as 20 s against production timers would.
const SILENT_TURN_MS = Number(process.env.ADK_SILENT_TURN_MS ?? 3000);
// The answer's button line ends a turn in the terminal.
const TURN_END = /\[export\] \[status\] \[credits\] \[new\]/;

let adk: AdkServer;
let router: Router;
let bot: ConsoleBot | undefined;

beforeAll(async () => {
  adk = await startAdkServer({
    applyDraft: (sessionId, draft) => {
      if (bot === undefined) throw new Error('no bot running');
      bot.fake.setDraft(sessionId, draft);
    },
  });
  router = await startRouter({ adkUrl: adk.url, createAdkSession: (sessionId) => adk.createSession(sessionId) });
}, 60_000);

afterAll(async () => {
  await router?.close();
  await adk?.close();
});

afterEach(async () => {
  if (!bot) return;
  const { fake } = bot;
  const written = bot.output() + bot.logs();
  await bot.close();
  bot = undefined;
  router.streaming = false;
  expect(fake.violations).toEqual([]);
  for (const token of fake.issuedTokens) expect(written).not.toContain(token);
});

async function chat(env: Record<string, string> = {}): Promise<ConsoleBot> {
  bot = await startConsoleBot({ env: { NEMO_API_URL: router.url, ...env } });
  router.nemoUrl = bot.fake.url;
  router.turnBodies.length = 0;
  adk.scripts.clear();
  // First contact sets the project up: the router creates ADK's session beside NemoVideo's.
  await bot.say('credits', /100 available/);
  return bot;
}

function sessionId(b: ConsoleBot): string {
  const ids = [...b.fake.sessions.keys()];
  const last = ids.at(-1);
  if (last === undefined) throw new Error('no project yet');
  return last;
}

const titled = (text: string) => withTracks(emptyDraft(), textTrack(text, 0, 3000));
const text = (value: string, finishReason?: string): ModelChunk => ({ parts: [{ text: value }], ...(finishReason ? { finishReason } : {}) });

function countOf(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('against the real ADK API server', () => {
  it('when the agent answers with plain text, then the JS ADK reads the body (camelCase beside snake_case) and the answer arrives', async () => {
    const b = await chat();
    adk.scripts.add({ kind: 'events', steps: [{ text: 'Happy to help with your cat video.' }] });
    await b.say('hello', /Happy to help with your cat video\./);
    expect(router.turnBodies.at(-1)).toMatchObject({ appName: 'nemo_agent', userId: 'me', sessionId: sessionId(b), session_id: sessionId(b) });
  });

  it('when ADK streams the text (partial events, then the whole), then the user reads it once, complete', async () => {
    const b = await chat();
    router.streaming = true;
    adk.scripts.add({ kind: 'llm', calls: [[text('Here is '), text('the plan '), text('for your video.', 'STOP')]] });
    const from = b.output().length;
    await b.say('plan a video', /Here is the plan for your video\./);
    // The answer's buttons close the turn (the terminal leaves the progress's closing "Done." out).
    await b.waitOutput(TURN_END, from);
    const out = b.output().slice(from);
    expect(countOf(out, 'Here is the plan for your video.')).toBe(1);
    expect(out).not.toMatch(/incomplete/);
  });

  it('when the LLM agent calls a tool, then ADK runs it, the call and result stay internal, and the change is reported', async () => {
    const b = await chat();
    adk.scripts.add({
      kind: 'llm',
      calls: [
        [{ parts: [{ text: 'Adding a title.' }, { functionCall: { name: 'edit_multitrack', args: { instruction: 'add a title' } } }] }],
        [text('The title is in place.', 'STOP')],
      ],
      drafts: { edit_multitrack: titled('Paradise Found') },
    });
    const from = b.output().length;
    await b.say('add a title', /Paradise Found/);
    const out = b.output().slice(from);
    expect(out).toContain('The title is in place.');
    expect(out).toMatch(/Editing the timeline/);
    expect(out).not.toMatch(/edit_multitrack|functionCall|functionResponse/);
  });

  it('when a streaming LLM agent generates a video, then the user hears it takes minutes, then that the raw video is ready, then the answer', async () => {
    const b = await chat();
    router.streaming = true;
    adk.scripts.add({
      kind: 'llm',
      calls: [
        [text('Generating '), text('the clip now.'), { parts: [{ functionCall: { name: 'generate_video_with_seedance', args: {} } }], finishReason: 'STOP' }],
        [text('Your video '), text('is ready!', 'STOP')],
      ],
      drafts: { generate_video_with_seedance: withTracks(emptyDraft(), videoTrack('cat surfing', 0, 5000)) },
    });
    const from = b.output().length;
    await b.say('make a video of a cat surfing', /Your video is ready!/);
    const out = b.output().slice(from);
    expect(out).toMatch(/Generating your video\. This usually takes a few minutes/);
    expect(out).toMatch(/raw video is ready/);
    expect(countOf(out, 'Generating the clip now.')).toBe(1);
  });

  it('when one event has several text parts, then they read as one text', async () => {
    const b = await chat();
    adk.scripts.add({ kind: 'events', steps: [{ text: ['The title ', 'is now ', '"Paradise Found".'] }] });
    const out = await b.say('rename the title', /Paradise Found/);
    expect(out).toContain('The title is now "Paradise Found".');
  });

  it('when the agent writes Chinese and emoji, streamed, then they arrive intact and the bot answers in Chinese', async () => {
    const b = await chat();
    router.streaming = true;
    adk.scripts.add({ kind: 'llm', calls: [[text('已添加'), text('标题「天堂」'), text(' 🎬✨👍🏽', 'STOP')]] });
    const from = b.output().length;
    await b.say('添加一个标题', /已添加标题「天堂」 🎬✨👍🏽/);
    const out = await b.waitOutput(TURN_END, from);
    expect(out).toMatch(/处理中/);
    expect(out).toMatch(/输入按钮上的词/);
  });

  it('when the model thinks aloud (thought parts, streamed), then no thought reaches the user', async () => {
    const b = await chat();
    router.streaming = true;
    adk.scripts.add({
      kind: 'llm',
      calls: [[{ parts: [{ text: 'SECRET-REASONING about the user', thought: true }] }, text('A 10-second '), text('timelapse it is.', 'STOP')]],
    });
    const from = b.output().length;
    await b.say('make it a timelapse', /A 10-second timelapse it is\./);
    await b.waitOutput(TURN_END, from);
    expect(b.output().slice(from)).not.toContain('SECRET-REASONING');
  });

  it('when the agent reports a content-policy errorCode, then the user hears it was declined, without the vendor text', async () => {
    const b = await chat();
    adk.scripts.add({ kind: 'events', steps: [{ errorCode: 'SAFETY', errorMessage: 'VENDOR-TEXT harm category' }] });
    const out = await b.say('something edgy', /declined that request/);
    expect(out).not.toContain('VENDOR-TEXT');
  });

  it('when the model is blocked without content (finishReason SAFETY), then ADK makes it an errorCode and the user hears it was declined', async () => {
    const b = await chat();
    adk.scripts.add({ kind: 'llm', calls: [[{ finishReason: 'SAFETY', finishMessage: 'VENDOR-TEXT blocked' }]] });
    const out = await b.say('something else edgy', /declined that request/);
    expect(out).not.toContain('VENDOR-TEXT');
  });

  it('when the model service fails ("503"), then it is a temporary problem, not a refusal', async () => {
    const b = await chat();
    adk.scripts.add({ kind: 'events', steps: [{ errorCode: '503', errorMessage: 'VENDOR-TEXT overloaded' }] });
    const out = await b.say('add music', /temporary problem/);
    expect(out).not.toMatch(/declined|VENDOR-TEXT/);
  });

  it('when streaming stops at MAX_TOKENS, then ADK sends the whole text with the errorCode and the user reads it, said to be cut short', async () => {
    const b = await chat();
    router.streaming = true;
    adk.scripts.add({ kind: 'llm', calls: [[text('Scene one: the city. '), text('Scene two: the', 'MAX_TOKENS')]] });
    const out = await b.say('write a long script', /cut short/);
    expect(out).toContain('Scene one: the city. Scene two: the');
    expect(out).not.toMatch(/declined|temporary problem/);
  });

  it('when the agent throws after writing and changing the project, then the text shows, "Done" is not said before the state check, and the change is reported', async () => {
    const b = await chat();
    adk.scripts.add({
      kind: 'events',
      steps: [{ text: 'Adding a title.' }, { call: 'edit_multitrack' }, { draft: titled('Thrown Title') }, { fail: 'VENDOR-TEXT tool crashed' }],
    });
    const from = b.output().length;
    await b.say('add a title', /Your request went through/);
    const out = b.output().slice(from);
    expect(out).toContain('Adding a title.');
    expect(out).toMatch(/hit a problem\. Checking whether your request went through/);
    expect(out).toMatch(/Thrown Title/);
    expect(out).not.toContain('VENDOR-TEXT');
    const edits = b.edits();
    expect(edits.some((text) => /Checking whether/.test(text))).toBe(true);
    expect(edits.indexOf('Done.')).toBeGreaterThan(edits.findIndex((text) => /Checking whether/.test(text)));
  });

  it('when the model stream fails after partial text only, then ADK reports an error event and the preview is shown marked incomplete', async () => {
    const b = await chat();
    router.streaming = true;
    adk.scripts.add({ kind: 'llm', calls: [[text('Half of '), text('a sentence'), text(' never sent.', 'STOP')]], failAfter: 2 });
    const out = await b.say('say something long', /temporary problem/);
    expect(out).toContain('Half of a sentence');
    expect(out).toMatch(/incomplete/);
    expect(out).not.toContain('never sent');
  });

  it(`when the agent is silent for ${SILENT_TURN_MS} ms (no keep-alives at all), then "Still working…" shows and the answer still arrives`, async () => {
    const b = await chat({ STILL_WORKING_MS: String(Math.max(200, Math.round(SILENT_TURN_MS / 3))), TURN_IDLE_TIMEOUT_MS: String(SILENT_TURN_MS * 2 + 5000) });
    adk.scripts.add({
      kind: 'events',
      steps: [
        { call: 'generate_video_with_seedance' },
        { silence: SILENT_TURN_MS },
        { draft: withTracks(emptyDraft(), videoTrack('quiet clip', 0, 4000)) },
        { response: 'generate_video_with_seedance' },
        { text: 'Your quiet video is ready!' },
      ],
    });
    const from = b.output().length;
    await b.say('generate a quiet video', /Your quiet video is ready!/, SILENT_TURN_MS * 3 + 10_000);
    expect(b.output().slice(from)).toMatch(/Still working/);
    expect(router.turnBodies).toHaveLength(1);
  }, SILENT_TURN_MS * 4 + 30_000);

  it('when the connection is cut mid-turn, then nothing is sent again, the preview is marked incomplete and the change is recovered from the state', async () => {
    const b = await chat();
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    adk.scripts.add({
      kind: 'events',
      steps: [
        { call: 'edit_multitrack' },
        { draft: titled('Cut Title') },
        { response: 'edit_multitrack' },
        { text: 'Almost there', partial: true },
        { until: held },
      ],
    });
    router.cutNextTurnAfter(3);
    try {
      const from = b.output().length;
      await b.say('add a title', /Your request went through/);
      const out = b.output().slice(from);
      expect(out).toMatch(/Almost there\s*\(incomplete: the connection broke\)/);
      expect(out).toMatch(/Cut Title/);
      expect(router.turnBodies).toHaveLength(1);
    } finally {
      release();
    }
    await waitFor(() => router.openTurns() === 0, { message: 'the cut stream closed' });
  });

  it('when ADK does not know the session (404 "Session not found" with no code), then a fresh project starts, the user is told, and /new works after', async () => {
    const b = await chat();
    const forgotten = sessionId(b);
    await adk.deleteSession(forgotten);
    adk.scripts.add({ kind: 'events', steps: [{ text: 'Fresh start, happy to help.' }] });
    const out = await b.say('hello again', /Fresh start, happy to help\./);
    expect(out).toMatch(/started a fresh one/);
    expect(sessionId(b)).not.toBe(forgotten);
    expect(router.turnBodies.map((body) => body.sessionId)).toEqual([forgotten, sessionId(b)]);
    await b.say('/new', /Started a fresh project/);
    adk.scripts.add({ kind: 'events', steps: [{ text: 'On the newest project.' }] });
    await b.say('hi', /On the newest project\./);
  });
});
