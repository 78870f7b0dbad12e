import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { languageFromLocale, splitFirstArgument, startConsoleChat } from '../../adapters/console/console-chat.js';
import type { IncomingMessage, MessageHandler } from '../../src/core/types.js';

/** A real handler that records what it is given; `onHandle` lets a test shape one turn. */
class RecordingHandler implements MessageHandler {
  readonly messages: IncomingMessage[] = [];
  constructor(private readonly onHandle: (message: IncomingMessage) => Promise<void> = async () => {}) {}
  async handle(message: IncomingMessage): Promise<void> {
    this.messages.push(message);
    await this.onHandle(message);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function streams(): { input: PassThrough; output: PassThrough; text: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    written += chunk;
  });
  return { input, output, text: () => written };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-chat-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

describe('startConsoleChat', () => {
  it('when lines are typed, then each becomes an addressed console message, in order', async () => {
    const { input, output, text } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada', language: 'en' });

    input.end('make a cat video\n\n   \nmake it shorter\n');
    await chat.closed;

    expect(handler.messages.map((m) => m.text)).toEqual(['make a cat video', 'make it shorter']);
    expect(handler.messages[0]).toEqual({
      platform: 'console',
      chatId: 'terminal',
      userId: 'ada',
      platformLanguage: 'en',
      text: 'make a cat video',
      attachments: [],
      addressed: true,
      address: { platform: 'console', chatId: 'terminal', userId: 'ada' },
    });
    expect(text().split('Type a message, /upload <file>, /help, /quit')).toHaveLength(2);
  });

  it('when no language is given, then the one in LANG is used', async () => {
    vi.stubEnv('LC_ALL', '');
    vi.stubEnv('LC_MESSAGES', '');
    vi.stubEnv('LANG', 'zh_CN.UTF-8');
    const { input, output } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    input.end('你好\n');
    await chat.closed;

    expect(handler.messages[0]?.platformLanguage).toBe('zh');
  });

  it('when no user id is given, then one is still set', async () => {
    const { input, output } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler });

    input.end('hi\n');
    await chat.closed;

    expect(handler.messages[0]?.userId).toMatch(/\S/);
    expect(handler.messages[0]?.address.userId).toBe(handler.messages[0]?.userId);
  });

  it('when a file is uploaded by a quoted path, then the attachment streams its bytes and the rest is the text', async () => {
    const bytes = randomBytes(70_000);
    const path = join(dir, 'my holiday.mov');
    await writeFile(path, bytes);
    const { input, output } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    input.end(`/upload "${path}" add music\nthen export\n`);
    await chat.closed;

    expect(handler.messages.map((m) => m.text)).toEqual(['add music', 'then export']);
    const [attachment] = handler.messages[0]?.attachments ?? [];
    expect(attachment).toMatchObject({ name: 'my holiday.mov', mimeType: 'video/quicktime', size: bytes.length });
    const streamed = await readAll(await attachment!.open());
    expect(streamed.equals(bytes)).toBe(true);
  });

  it('when the uploaded file does not exist, then a friendly line is printed and nothing is sent', async () => {
    const { input, output, text } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });
    const missing = join(dir, 'nope.mp4');

    input.end(`/upload ${missing}\nstill here\n`);
    await chat.closed;

    expect(handler.messages.map((m) => m.text)).toEqual(['still here']);
    expect(text()).toContain(`File not found: ${missing}`);
  });

  it('when a folder is uploaded, then it is refused without a message', async () => {
    const { input, output, text } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    input.end(`/upload ${dir}\n`);
    await chat.closed;

    expect(handler.messages).toEqual([]);
    expect(text()).toContain('not a file');
  });

  it('when a link is uploaded, then it passes through as text with no attachment', async () => {
    const { input, output } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    input.end('/upload https://example.com/clip.mp4\n');
    await chat.closed;

    expect(handler.messages).toHaveLength(1);
    expect(handler.messages[0]).toMatchObject({ text: '/upload https://example.com/clip.mp4', attachments: [] });
  });

  it('when the handler rejects for one line, then the failure is printed and the next line is still handled', async () => {
    const { input, output, text } = streams();
    const handler = new RecordingHandler(async (message) => {
      if (message.text === 'boom') throw new Error('agent exploded');
    });
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    input.end('boom\nafter\n');
    await chat.closed;

    expect(handler.messages.map((m) => m.text)).toEqual(['boom', 'after']);
    expect(text()).toContain('agent exploded');
  });

  it('when a turn is still running, then the next line is handed over without waiting for it', async () => {
    const { input, output } = streams();
    const secondArrived = deferred();
    const handler = new RecordingHandler(async (message) => {
      // The first turn can only finish once the second was handed over: a serial loop would hang.
      if (message.text === 'first') await secondArrived.promise;
      if (message.text === 'second') secondArrived.resolve();
    });
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    input.end('first\nsecond\n');
    await chat.closed;

    expect(handler.messages.map((m) => m.text)).toEqual(['first', 'second']);
  });

  it('when input ends during a turn, then closed waits for that turn to settle', async () => {
    const { input, output } = streams();
    const started = deferred();
    const release = deferred();
    let finished = false;
    const handler = new RecordingHandler(async () => {
      started.resolve();
      await release.promise;
      finished = true;
    });
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });
    let closedWhileRunning = false;
    void chat.closed.then(() => {
      closedWhileRunning = !finished;
    });

    const ended = once(input, 'end');
    input.end('slow one\n');
    await started.promise;
    // readline saw the end before this listener (it subscribed first), so a closed that did
    // not wait for turns would already have resolved by the next macrotask.
    await ended;
    await new Promise((done) => setImmediate(done));
    release.resolve();
    await chat.closed;

    expect(finished).toBe(true);
    expect(closedWhileRunning).toBe(false);
  });

  it('when /quit is typed, then the chat closes and later lines are not handled', async () => {
    const { input, output } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada' });

    // The input stays open: only /quit can end the chat here.
    input.write('hello\n/quit\nignored\n');
    await chat.closed;

    expect(handler.messages.map((m) => m.text)).toEqual(['hello']);
  });

  it('when close() is called, then closed resolves', async () => {
    const { input, output } = streams();
    const handler = new RecordingHandler();
    const chat = startConsoleChat({ input, output, handler, userId: 'ada', prompt: true });

    chat.close();
    await chat.closed;

    expect(handler.messages).toEqual([]);
  });
});

describe('console chat parsing', () => {
  it('when a locale names a country and encoding, then only the language is kept', () => {
    expect(languageFromLocale('zh_CN.UTF-8')).toBe('zh');
    expect(languageFromLocale('en_US')).toBe('en');
    expect(languageFromLocale('C.UTF-8')).toBeUndefined();
    expect(languageFromLocale(undefined)).toBeUndefined();
  });

  it('when the path is quoted, then spaces stay in it', () => {
    expect(splitFirstArgument(`'/tmp/a b.mp4' make it pop`)).toEqual({ first: '/tmp/a b.mp4', rest: 'make it pop' });
    expect(splitFirstArgument('/tmp/a.mp4')).toEqual({ first: '/tmp/a.mp4', rest: '' });
    expect(splitFirstArgument('')).toBeUndefined();
  });
});
