import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_MP4_PATH, startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { freePort } from '../helpers/redis-server.js';
import { silentServer } from '../helpers/silent-server.js';
import { testRedis } from '../helpers/redis.js';
import { spawnPtyChat, type PtyChat } from './pty-chat.js';

let chat: PtyChat | undefined;
let fake: FakeNemo | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  chat?.kill();
  if (chat) await chat.exited;
  await fake?.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  chat = undefined;
  fake = undefined;
});

async function start(env: Record<string, string> = {}): Promise<PtyChat> {
  fake ??= await startFakeNemo();
  const redis = testRedis();
  chat = await spawnPtyChat({
    env: { NEMO_API_URL: fake.url, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix.replace(/:$/, ''), ...env },
  });
  await chat.waitScreen(/you ›\s*$/);
  return chat;
}

/** Types a prompt whose turn the fake agent holds open until the test ends. */
async function startHeldTurn(c: PtyChat): Promise<void> {
  let release!: () => void;
  fake!.scriptTurn({ frames: [{ kind: 'wait', until: new Promise<void>((done) => (release = done)) }] });
  cleanups.push(async () => release());
  c.typeLine('Generate a video of a city timelapse');
  await c.waitScreen(/Working on it/, 60_000);
}

const count = (text: string, pattern: RegExp): number => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

/** A hung gateway: connections taken, never answered. */
async function silentUrl(): Promise<string> {
  const server = await silentServer();
  cleanups.push(() => server.close());
  return `http://127.0.0.1:${server.port}`;
}

describe('terminal chat in a pseudo-terminal, typed into as a person types', () => {
  it('when a person makes and exports a video, then every reply lands above the prompt, each status once, and the prompt comes back after the video', async () => {
    const c = await start();
    c.typeLine('Generate a video of a city timelapse');
    await c.waitScreen(/Keep them, or say/, 60_000);
    c.typeLine('export');
    // The saved file's path after "Video ready": the clip preview before export ends in .mp4 too.
    const screen = await c.waitScreen(/Video ready[^\n]*\n[^\n]*\.mp4\n(?:.*\n)*you ›\s*$/, 60_000);

    // Nothing was printed after the prompt on its line.
    expect(screen).not.toMatch(/you › bot ›/);
    expect(count(screen, /Video ready/)).toBe(1);
    // The closing "Done." of a progress message only repeats the answer beside it.
    expect(screen).not.toMatch(/^bot › Done/m);
    expect(screen).not.toMatch(/about 30 s/);
    expect(screen).toMatch(/Rendering… I'll post the progress/);
    expect(screen).toMatch(/Rendering… \d+ %/);
    expect(screen.split('\n').at(-1)).toMatch(/^you ›\s*$/);
  }, 120_000);

  it('when a person types /help and uploads a missing file, then the help lists /stats and /exit and the refusal carries the bot marker', async () => {
    const c = await start();
    c.typeLine('/help');
    const help = await c.waitScreen(/\/exit/);
    expect(help).toMatch(/\/stats/);
    c.typeLine('/upload /no/such/clip.mp4');
    await c.waitScreen(/^bot › File not found: \/no\/such\/clip\.mp4/m);
  }, 60_000);

  it('when a Chinese speaker uploads a file with an instruction, then nobody asks what to do with it and the button hint is in Chinese', async () => {
    const c = await start({ LANG: 'zh_CN.UTF-8' });
    c.typeLine(`/upload ${FIXTURE_MP4_PATH.pathname} 把这个作为片头`);
    const screen = await c.waitScreen(/输入按钮上的词/, 60_000);
    expect(screen).toMatch(/已上传：sample\.mp4。/);
    expect(screen).not.toMatch(/告诉我要怎么用/);
    expect(screen).not.toMatch(/type the word/);
  }, 90_000);

  it('when Ctrl-C is pressed during a turn, then it says the turn goes on, credits still answers, and a second Ctrl-C quits at once leaving the turn for the next start', async () => {
    const c = await start({ SHUTDOWN_TIMEOUT_MS: '60000' });
    await startHeldTurn(c);

    c.press('\x03');
    await c.waitScreen(/Press Ctrl-C again to quit/);
    // The chat still takes lines, and a command does not wait behind the stuck turn.
    c.typeLine('credits');
    await c.waitScreen(/Credits: \d+ available/, 20_000);

    const pressed = Date.now();
    c.press('\x03');
    const exit = await c.exited;
    // Far below the 60 s the turn would have been given by a normal stop.
    expect(Date.now() - pressed).toBeLessThan(15_000);
    expect(exit.exitCode).toBe(0);
    const log = await readFile(join(c.cwd, '.data', 'console.log'), 'utf8');
    expect(log).toMatch(/chat interrupted/);

    // The next start finds the cut turn in the journal and reports it from the project state.
    chat = await spawnPtyChat({ cwd: c.cwd, env: c.env });
    // The check is quick: its result is the one post ("I'm back…" would show only after PROGRESS_DELAY_MS).
    await chat.waitScreen(/I couldn't confirm that your request went through/, 60_000);
    // The message itself was not sent again.
    expect(fake!.sseCalls).toHaveLength(1);
  }, 120_000);

  it('when /quit waits for a turn and Ctrl-C comes then, then the chat quits at once', async () => {
    const c = await start({ SHUTDOWN_TIMEOUT_MS: '60000' });
    await startHeldTurn(c);
    c.typeLine('/quit');
    // The chat is closing and waits for the turn: Ctrl-C is now a signal, not a key.
    await c.waitScreen(/Quitting once the answer is in\. Press Ctrl-C to quit now/);
    const pressed = Date.now();
    c.press('\x03');
    const exit = await c.exited;
    expect(Date.now() - pressed).toBeLessThan(15_000);
    expect(exit.exitCode).toBe(0);
    expect(await readFile(join(c.cwd, '.data', 'console.log'), 'utf8')).toMatch(/"reason":"interrupted"/);
  }, 120_000);

  it('when Ctrl-C is pressed with no turn running, then the chat quits', async () => {
    const c = await start();
    c.press('\x03');
    const exit = await c.exited;
    expect(exit.exitCode).toBe(0);
  }, 60_000);

  it('when the video service accepts and never answers, then the person is told within seconds what is awaited', async () => {
    const url = await silentUrl();
    const c = await start({ NEMO_API_URL: url });
    c.typeLine('credits');
    const screen = await c.waitScreen(/Still waiting for an answer from http:\/\/127\.0\.0\.1:\d+/, 20_000);
    expect(screen).toMatch(/^you › credits$/m);
  }, 60_000);

  it('when the video service cannot be reached, then the reply names the service tried and the log file with the cause', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/some/path?x=1`;
    const c = await start({ NEMO_API_URL: closed, NEMO_TOKEN: 'nemo_operator_secret_1234567890' });
    c.typeLine('credits');
    const screen = await c.waitScreen(/the cause is in/, 30_000);
    expect(screen).toMatch(/can't reach the video service/);
    expect(screen).toMatch(/Tried http:\/\/127\.0\.0\.1:\d+ \(NEMO_API_URL\); the cause is in \S+\/\.data\/console\.log/);
    expect(screen).not.toMatch(/some\/path|x=1|nemo_operator_secret/);
  }, 60_000);
});
