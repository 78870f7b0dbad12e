import { createHash } from 'node:crypto';
import { readdir, readFile, truncate, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { adkTurn, FIXTURE_MP4, FIXTURE_MP4_PATH } from '../fakes/nemo/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { startConsoleBot, type ConsoleBot } from './console-harness.js';

let bot: ConsoleBot | undefined;

afterEach(async () => {
  if (!bot) return;
  const { fake } = bot;
  const written = bot.output() + bot.logs();
  await bot.close();
  bot = undefined;
  // The contract is checked on every request, and no issued token may reach a reply or a log line.
  expect(fake.violations).toEqual([]);
  for (const token of fake.issuedTokens) expect(written).not.toContain(token);
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function generated(b: ConsoleBot): Promise<void> {
  await b.say('Generate a video of a city timelapse', /Keep them, or say/);
}

describe('terminal chat, end to end', () => {
  it('when a new user asks for a video, then the bot generates and shows post-production without GUI directions or set-up lines', async () => {
    bot = await startConsoleBot();
    const out = await bot.say('Generate a video of a city timelapse', /Keep them, or say/);
    expect(out).not.toMatch(/Setting things up|Ready!/);
    expect(out).toMatch(/Welcome! I make and edit videos/);
    expect(out).toMatch(/few minutes/);
    expect(out).toMatch(/raw video is ready/);
    expect(out).toMatch(/Your video is ready!/);
    expect(out).not.toMatch(/click/i);
    expect(out).toMatch(/Timeline \(3 tracks\)/);
    expect(out).toMatch(/BGM: Lo-fi \(0-10s, 35%\)/);
    expect(bot.fake.sseCalls).toHaveLength(1);
    expect(bot.fake.sseCalls[0]?.text).toBe('Generate a video of a city timelapse');
  });

  it('when an edit ends with no text, then the bot reports what changed on the timeline', async () => {
    bot = await startConsoleBot();
    await generated(bot);
    const out = await bot.say('Add the title "Paradise Found"', /What changed/);
    expect(out).toMatch(/Paradise Found/);
    expect(out).toMatch(/0.3\s?s/);
    expect(out).toMatch(/export/i);
  });

  it('when the user asks for credits and status, then the bot answers itself without a chat turn', async () => {
    bot = await startConsoleBot();
    await generated(bot);
    const credits = await bot.say('credits', /Credits: \d+ available/);
    expect(credits).toMatch(/100 available/);
    const status = await bot.say('/status', /Timeline \(3 tracks\)/);
    expect(status).toMatch(/Video: city timelapse \(0-10s\)/);
    expect(status).toMatch(/workspace\/claim\?ct=clm_/);
    expect(bot.fake.sseCalls).toHaveLength(1);
  });

  it('when the user uploads a file, then its bytes reach NemoVideo streamed and the words go to the agent', async () => {
    bot = await startConsoleBot();
    await bot.say(`/upload ${fileURLToPath(FIXTURE_MP4_PATH)} use this as the intro`, /Happy to help with: use this as the intro/);
    expect(bot.fake.uploads).toHaveLength(1);
    expect(bot.fake.uploads[0]?.sha256).toBe(sha256(FIXTURE_MP4));
    expect(bot.fake.uploads[0]?.filename).toBe('sample.mp4');
  });

  it('when the user sends a document with an instruction, then its text goes to the agent with the instruction and nothing is uploaded', async () => {
    bot = await startConsoleBot();
    const dir = await mkdtemp(join(tmpdir(), 'nvb-doc-'));
    const file = join(dir, 'blog intro.md');
    await writeFile(file, '# Paradise Found\n\nA quiet island where the\u0007 sea meets the sky.');
    await bot.say(`/upload "${file}" turn this blog post into a 30-second explainer`, /Happy to help with/);
    const sent = bot.fake.sseCalls[0]?.text ?? '';
    expect(sent).toMatch(/^turn this blog post into a 30-second explainer/);
    expect(sent).toContain('A quiet island where the sea meets the sky.');
    expect(bot.fake.uploads).toHaveLength(0);
  });

  it('when the user sends a link to a media file, then it is uploaded by URL and other links stay in the text', async () => {
    bot = await startConsoleBot();
    await bot.say('/upload https://media.example.com/clips/beach.mp4', /Uploaded: beach\.mp4/);
    expect(bot.fake.uploads).toMatchObject([{ kind: 'url', url: 'https://media.example.com/clips/beach.mp4' }]);
    await bot.say('make it like https://blog.example.com/post please', /Happy to help with/);
    expect(bot.fake.sseCalls.at(-1)?.text).toContain('https://blog.example.com/post');
    expect(bot.fake.uploads).toHaveLength(1);
  });

  it('when the user says export, then the MP4 is saved with the bytes the service rendered, once, with the project link', async () => {
    bot = await startConsoleBot();
    await generated(bot);
    const out = await bot.say('export', /Video ready/, 15_000);
    expect(out).toMatch(/Rendering/);
    expect(out).toMatch(/workspace\/claim\?ct=clm_/);
    const files = (await readdir(bot.videoDir)).filter((f) => f.endsWith('.mp4'));
    expect(files).toHaveLength(1);
    const [renderId] = [...bot.fake.renders.keys()];
    expect(renderId).toBeDefined();
    const bytes = await readFile(join(bot.videoDir, files[0]!));
    expect(sha256(bytes)).toBe(bot.fake.outputSha256(renderId!));
    expect(bot.fake.sseCalls).toHaveLength(1);
  });

  it('when the person starts a second project, then /projects lists both, /switch 1 goes back to the first, and exports are numbered per project', async () => {
    bot = await startConsoleBot();
    await generated(bot);
    let out = await bot.say('export', /Video ready: v1\./, 15_000);
    // No "reply to this message" in a terminal: it has no replies.
    expect(out).not.toMatch(/Reply to this message/);
    const first = bot.fake.sseCalls[0]?.sessionId;

    await bot.say('/new', /Started a fresh project/);
    await bot.say('Generate a video of a beach at dawn', /Keep them, or say/);
    const second = bot.fake.sseCalls.at(-1)?.sessionId;
    expect(second).not.toBe(first);

    out = await bot.say('/projects', /Switch with/);
    expect(out).toMatch(/1\. Generate a video of a beach at dawn · just now · 0 exports \(current\)/);
    expect(out).toMatch(/2\. Generate a video of a city timelapse · just now · 1 export\n/);

    await bot.say('/switch 2', /Switched to “Generate a video of a city timelapse”/);
    await bot.say('Add the title "Paradise Found"', /What changed/);
    expect(bot.fake.sseCalls.at(-1)).toMatchObject({ sessionId: first, text: 'Add the title "Paradise Found"' });
    await bot.say('export', /Video ready: v2\./, 15_000);
    out = await bot.say('/status', /Versions:/);
    expect(out).toMatch(/Project: Generate a video of a city timelapse\n\s*Versions: v1, v2/);

    // A number that is not on the list changes nothing.
    out = await bot.say('/switch 7', /\/switch N with a number from 1 to 2/);
    await bot.say('/projects', /1\. Generate a video of a city timelapse · just now · 2 exports \(current\)/);
  });

  it('when nothing was generated yet, then export says so and submits nothing', async () => {
    bot = await startConsoleBot();
    await bot.say('export', /nothing to export yet/);
    expect(bot.fake.renders.size).toBe(0);
  });

  it('when a message arrives while a turn runs, then it waits its turn in order and the user is told', async () => {
    bot = await startConsoleBot();
    await bot.say('/help', /\/export/);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const adk = adkTurn();
    bot.fake.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adk.text('First answer.') }] });
    await bot.say('first message', /Working on it/);
    await bot.say('second message', /queued|as soon as the current step finishes/);
    expect(bot.fake.sseCalls).toHaveLength(1);
    release();
    await bot.waitOutput(/Happy to help with: second message/);
    const out = bot.output();
    expect(out.indexOf('First answer.')).toBeLessThan(out.indexOf('Happy to help with: second message'));
    expect(bot.fake.sseCalls.map((c) => c.text)).toEqual(['first message', 'second message']);
  });

  it('when two messages arrive together on first contact, then one project is set up for both, without set-up lines', async () => {
    bot = await startConsoleBot();
    const address = { platform: 'console' as const, chatId: 'terminal', userId: 'tester' };
    const message = (text: string) => ({ ...address, text, attachments: [], addressed: true, address });
    await Promise.all([bot.app.engine.handle(message('/start')), bot.app.engine.handle(message('credits'))]);
    expect(bot.fake.sessions.size).toBe(1);
    expect(bot.output()).not.toMatch(/Setting things up/);
    expect(bot.output()).toMatch(/100 available/);
    expect(bot.output().match(/Hi! I make and edit videos/g)).toHaveLength(1);
  });

  it('when a new user asks for credits with the default delay, then the answer is the only line the bot prints', async () => {
    bot = await startConsoleBot({ env: { PROGRESS_DELAY_MS: '30000' } });
    await bot.say('credits', /100 available/);
    // The terminal's own prompt line comes first; then the answer, the only reply.
    const lines = bot.output().split('\n').filter((line) => line.startsWith('bot › ') && !line.includes('/quit'));
    expect(lines, bot.output()).toHaveLength(1);
    expect(lines[0]).toMatch(/^bot › Credits/);
  });

  it('when the user writes Chinese, then the bot answers in Chinese', async () => {
    bot = await startConsoleBot();
    const out = await bot.say('积分', /积分：可用 100/);
    expect(out).toMatch(/欢迎！/);
  });
});

describe('terminal chat, first contact', () => {
  it('when a new person\'s first messages arrive together, then they share one anonymous account: one client id, one project, nothing replaced', async () => {
    bot = await startConsoleBot();
    // Both lines at once: the chat hands each to the engine without waiting for the other.
    const out = await bot.say('credits\nGenerate a video of a city timelapse', /Keep them, or say/);
    await bot.waitOutput(/100 available|available/);
    expect(bot.fake.tokensByClientId.size).toBe(1);
    expect(bot.fake.sessions.size).toBe(1);
    expect(out).not.toMatch(/fresh project|new project/i);
  });
});

describe('terminal chat, service faults', () => {
  it('when the token expired (1001), then a new one is fetched with the same client id and the request succeeds', async () => {
    bot = await startConsoleBot();
    await bot.say('credits', /100 available/);
    const [first] = bot.fake.issuedTokens;
    bot.fake.expireToken(first!);
    await bot.say('credits', /100 available/);
    expect(bot.fake.issuedTokens).toHaveLength(2);
    expect(bot.fake.tokensByClientId.size).toBe(1);
  });

  it('when the token call answers HTTP 400 (client id not seen), then it is sent once more with the client id and works', async () => {
    bot = await startConsoleBot();
    bot.fake.failNext('anonymous-token', { status: 400, message: 'X-Client-Id header required' });
    await bot.say('credits', /100 available/);
    const calls = bot.fake.requests.filter((r) => r.path === '/api/auth/anonymous-token');
    expect(calls).toHaveLength(2);
    expect(calls[0]?.headers['x-client-id']).toBe(calls[1]?.headers['x-client-id']);
  });

  it('when the service refuses a new anonymous token (per-address limit), then the user is told plainly and the log says to set NEMO_TOKEN', async () => {
    bot = await startConsoleBot();
    bot.fake.failNext('anonymous-token', { status: 429, message: 'too many tokens from this address' }, 2);
    await bot.say('credits', /isn't giving out more free accounts/);
    expect(bot.logs()).toMatch(/set NEMO_TOKEN/);
    expect(bot.fake.sessions.size).toBe(0);
  });

  it('when the service refuses an uploaded file (4001), then the accepted formats are listed', async () => {
    bot = await startConsoleBot();
    bot.fake.failNext('upload', { code: 4001, message: 'unsupported file type' });
    await bot.say(`/upload ${fileURLToPath(FIXTURE_MP4_PATH)}`, /isn't supported\. Accepted: mp4/);
  });

  it('when the user is out of credits (2001), then the registration link carries their id', async () => {
    bot = await startConsoleBot();
    await bot.say('credits', /100 available/);
    bot.fake.failNext('run_sse', { code: 2001, message: 'insufficient credits' });
    const out = await bot.say('make it brighter', /out of credits/);
    // The progress message does not stay at "Working on it…".
    expect(out).toMatch(/Stopped\./);
    const userId = [...bot.fake.sessions.values()][0]?.userId;
    expect(out).toContain(`https://nemovideo.com/?bind=${userId}`);
  });

  it('when the service forgot the session (1002), then a fresh project starts and the user is told', async () => {
    bot = await startConsoleBot();
    await bot.say('credits', /100 available/);
    bot.fake.failNext('run_sse', { status: 404, code: 1002, message: 'session not found' });
    const out = await bot.say('hello there', /Happy to help with: hello there/);
    expect(out).toMatch(/started a fresh one/);
    expect(bot.fake.sessions.size).toBe(2);
  });

  it('when NemoVideo answers 429 once, then the bot waits and the retry succeeds', async () => {
    bot = await startConsoleBot();
    await bot.say('credits', /100 available/);
    bot.fake.failNext('credits', { status: 429, message: 'slow down' });
    await bot.say('credits', /100 available/);
    expect(bot.fake.requests.filter((r) => r.path === '/api/credits/balance/simple')).toHaveLength(3);
  });

  it('when only keep-alives arrive for a while, then "Still working…" shows and the answer follows', async () => {
    bot = await startConsoleBot({ env: { STILL_WORKING_MS: '40' } });
    await bot.say('/help', /\/export/);
    const adk = adkTurn();
    bot.fake.scriptTurn({
      frames: [
        { kind: 'keepalive', style: 'comment' },
        { kind: 'delay', ms: 60 },
        { kind: 'keepalive', style: 'heartbeat-json' },
        { kind: 'delay', ms: 60 },
        { kind: 'keepalive', style: 'heartbeat-event' },
        { kind: 'event', event: adk.text('Here is the plan.') },
      ],
    });
    const out = await bot.say('plan a video', /Here is the plan/);
    expect(out).toMatch(/Still working/);
  });

  it('when the stream is cut, then nothing is sent again and the change is recovered from the state', async () => {
    bot = await startConsoleBot();
    await bot.say('/help', /\/export/);
    const adk = adkTurn();
    bot.fake.scriptTurn({
      frames: [{ kind: 'event', event: adk.call('edit_multitrack', { action: 'add_text' }) }, { kind: 'apply-draft' }],
      draftAfter: { d: 3000, t: [{ tt: 7, m: { name: 'Title' }, sg: [{ id: 's1', st: 0, d: 3000, m: { text: 'Recovered Title' } }] }] },
      end: 'destroy',
    });
    const out = await bot.say('add a title', /Your request went through/);
    expect(out).toMatch(/Recovered Title/);
    expect(bot.fake.sseCalls).toHaveLength(1);
  });

  it('when the stream is cut and nothing changes, then the user is told it failed and offered a retry', async () => {
    bot = await startConsoleBot();
    await bot.say('/help', /\/export/);
    const adk = adkTurn();
    bot.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.text('Working', { partial: true }) }], end: 'destroy' });
    const out = await bot.say('do something', /Send it again/);
    expect(out).toMatch(/incomplete/);
    expect(bot.fake.sseCalls).toHaveLength(1);
  });

  it('when export is refused on the free plan (402), then the user learns registering unlocks it', async () => {
    bot = await startConsoleBot();
    await generated(bot);
    bot.fake.failNext('render-submit', { status: 402, message: 'free plan' }, 2);
    await bot.say('export', /registered NemoVideo account/, 15_000);
    expect(bot.output()).toMatch(/\?bind=anon_/);
  });

  it('when a person on the operator token runs out of credits at export, then the worker says top up, as the engine would, and shows no registration link', async () => {
    const operator = 'nmv_usr_operator_console_tests_0000001';
    bot = await startConsoleBot({ env: { NEMO_TOKEN: operator }, fake: { operatorTokens: [operator] } });
    await generated(bot);
    bot.fake.failNext('render-submit', { code: 2001, message: 'insufficient credits' }, 2);
    await bot.say('export', /Top up at nemovideo\.com to continue/, 15_000);
    expect(bot.output()).not.toMatch(/bind=/);
  });
});

describe('terminal chat, bad input', () => {
  it('when a message is 20,000 characters, then it is refused kindly and nothing is sent', async () => {
    bot = await startConsoleBot();
    await bot.say('x'.repeat(20_000), /too long/);
    expect(bot.fake.sseCalls).toHaveLength(0);
    expect(bot.fake.sessions.size).toBe(0);
  });

  it('when a message has control characters, then they are dropped and the rest is relayed', async () => {
    bot = await startConsoleBot();
    await bot.say('hello\u0007 \u001b[31mworld', /Happy to help with/);
    const sent = bot.fake.sseCalls[0]?.text ?? '';
    expect([...sent].some((c) => c.charCodeAt(0) < 0x20 && c !== '\n' && c !== '\t')).toBe(false);
    expect(sent).toMatch(/hello/);
  });

  it('when an unsupported file is uploaded, then the user hears which formats work and nothing is sent', async () => {
    bot = await startConsoleBot();
    const dir = await mkdtemp(join(tmpdir(), 'nvb-bad-'));
    const file = join(dir, 'setup.exe');
    await writeFile(file, 'MZ');
    await bot.say(`/upload ${file}`, /isn't supported/);
    expect(bot.output()).toMatch(/mp4/);
    expect(bot.fake.uploads).toHaveLength(0);
    expect(bot.fake.requests.some((r) => r.path.startsWith('/api/upload-video'))).toBe(false);
  });

  it('when a file is over 50 MB, then it is refused before a byte is sent', async () => {
    bot = await startConsoleBot();
    const dir = await mkdtemp(join(tmpdir(), 'nvb-big-'));
    const file = join(dir, 'huge.mp4');
    await writeFile(file, '');
    await truncate(file, 60 * 1024 * 1024);
    await bot.say(`/upload ${file}`, /too large/);
    expect(bot.fake.requests.some((r) => r.path.startsWith('/api/upload-video'))).toBe(false);
  });

  it('when a message is empty, then the bot asks for a description and creates nothing', async () => {
    bot = await startConsoleBot();
    const address = { platform: 'console' as const, chatId: 'terminal', userId: 'tester' };
    await bot.app.engine.handle({ ...address, text: ' \n\t ', attachments: [], addressed: true, address });
    expect(bot.output()).toMatch(/Your message was empty/);
    expect(bot.fake.sessions.size).toBe(0);
  });

  it('when /new is typed, then a fresh project replaces the old one', async () => {
    bot = await startConsoleBot();
    await generated(bot);
    await bot.say('/new', /Started a fresh project/);
    expect(bot.fake.sessions.size).toBe(2);
    await bot.say('status', /timeline is empty/i);
  });

  it('when an unknown command is typed, then the bot says so and changes nothing', async () => {
    bot = await startConsoleBot();
    await bot.say('/frobnicate', /don't know the command \/frobnicate/);
    expect(bot.fake.sessions.size).toBe(0);
    await waitFor(() => bot!.fake.sseCalls.length === 0);
  });
});
