import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleOutbox, IncompleteVideoError } from '../../adapters/console/console-outbox.js';
import type { ChatAddress, VideoFile } from '../../src/core/types.js';

const to: ChatAddress = { platform: 'console', chatId: 'terminal', userId: 'ada' };

function capture(): { output: PassThrough; text: () => string } {
  const output = new PassThrough();
  let written = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    written += chunk;
  });
  return { output, text: () => written };
}

let dir: string;
let fixture: string;
let fixtureBytes: Buffer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-outbox-'));
  fixtureBytes = randomBytes(300_000);
  fixture = join(dir, 'fixture.mp4');
  await writeFile(fixture, fixtureBytes);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function video(deliveryId: string, path = fixture, size = fixtureBytes.length): VideoFile {
  return { filename: 'render.mp4', size, stream: createReadStream(path), caption: 'Your video is ready', deliveryId };
}

describe('ConsoleOutbox text', () => {
  it('when text has several lines, then the first carries the marker and the rest are indented', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({ output, videoDir: join(dir, 'videos') });

    await outbox.sendText(to, 'Hello\nsecond line\n\nfourth');

    expect(text()).toBe('bot › Hello\n      second line\n\n      fourth\n');
  });

  it('when two messages are sent, then each gets its own id', async () => {
    const outbox = new ConsoleOutbox({ output: capture().output, videoDir: dir });

    const first = await outbox.sendText(to, 'one');
    const second = await outbox.sendText(to, 'two');

    expect(first).not.toBe(second);
  });

  it('when buttons are given, then a hint line names the words to type', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({ output, videoDir: dir });

    await outbox.sendText(to, 'Draft ready', {
      buttons: [
        { label: 'Export', action: 'export' },
        { label: 'Status', action: 'status' },
        { label: 'Credits', action: 'credits' },
        { label: 'New', action: 'new' },
      ],
    });

    expect(text()).toContain('[export] [status] [credits] [new]');
  });

  it('when a message is edited to the same text twice, then it is printed once more only', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({ output, videoDir: dir });
    const id = await outbox.sendText(to, 'Rendering 10%');

    await outbox.editText(to, id, 'Rendering 10%');
    await outbox.editText(to, id, 'Rendering 50%');
    await outbox.editText(to, id, 'Rendering 50%');

    expect(text()).toBe('bot › Rendering 10%\nbot › Rendering 50%\n');
  });

  it('when a message from another process is edited, then the new text is printed', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({ output, videoDir: dir });

    await outbox.editText(to, '99999.1', 'Done');

    expect(text()).toBe('bot › Done\n');
  });

  it('when asked for the upload limit, then there is none worth speaking of', () => {
    const outbox = new ConsoleOutbox({ output: capture().output, videoDir: dir });

    expect(outbox.maxUploadBytes(to)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('ConsoleOutbox video', () => {
  it('when a video is sent, then the folder is created and the file holds the same bytes', async () => {
    const { output, text } = capture();
    const videoDir = join(dir, 'nested', 'videos');
    const outbox = new ConsoleOutbox({ output, videoDir });

    await outbox.sendVideo(to, video('render-1'));

    const saved = join(videoDir, 'render-1.mp4');
    expect((await readFile(saved)).equals(fixtureBytes)).toBe(true);
    expect(text()).toContain('Your video is ready');
    expect(text()).toContain(saved);
  });

  it('when the same delivery arrives twice, then exactly one file remains, holding the latest bytes', async () => {
    const videoDir = join(dir, 'videos');
    const outbox = new ConsoleOutbox({ output: capture().output, videoDir });
    const other = join(dir, 'other.mp4');
    const otherBytes = randomBytes(1234);
    await writeFile(other, otherBytes);

    await outbox.sendVideo(to, video('render-2'));
    await outbox.sendVideo(to, video('render-2', other, otherBytes.length));

    expect(await readdir(videoDir)).toEqual(['render-2.mp4']);
    expect((await readFile(join(videoDir, 'render-2.mp4'))).equals(otherBytes)).toBe(true);
  });

  it('when the stream fails midway, then the earlier copy stays whole and no partial file is left', async () => {
    const videoDir = join(dir, 'videos');
    const outbox = new ConsoleOutbox({ output: capture().output, videoDir });
    await outbox.sendVideo(to, video('render-3'));
    const broken = new Readable({
      read() {
        this.push(Buffer.alloc(1000, 1));
        this.destroy(new Error('connection reset'));
      },
    });

    await expect(
      outbox.sendVideo(to, { ...video('render-3'), stream: broken }),
    ).rejects.toThrow('connection reset');

    expect(await readdir(videoDir)).toEqual(['render-3.mp4']);
    expect((await readFile(join(videoDir, 'render-3.mp4'))).equals(fixtureBytes)).toBe(true);
  });

  it('when the stream ends before the announced size, then it fails with incomplete_video and saves nothing', async () => {
    const videoDir = join(dir, 'videos');
    const outbox = new ConsoleOutbox({ output: capture().output, videoDir });

    const failure = outbox.sendVideo(to, video('render-4', fixture, fixtureBytes.length + 10));

    await expect(failure).rejects.toBeInstanceOf(IncompleteVideoError);
    await expect(failure).rejects.toMatchObject({ code: 'incomplete_video' });
    expect(await readdir(videoDir)).toEqual([]);
  });

  it('when a delivery id holds path characters, then the file still lands inside the folder', async () => {
    const videoDir = join(dir, 'videos');
    const outbox = new ConsoleOutbox({ output: capture().output, videoDir });

    await outbox.sendVideo(to, video('../../escape'));

    expect(await readdir(videoDir)).toHaveLength(1);
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['videos', 'fixture.mp4']));
    expect(await readdir(dir)).toHaveLength(2);
  });
});

describe('ConsoleOutbox, what a terminal needs on top', () => {
  it('when a progress message reaches a closing state, then it is not printed again, while other edits are', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({ output, videoDir: join(dir, 'videos') });
    const id = await outbox.sendText(to, 'Working on it…');

    await outbox.editText(to, id, 'Rendering… 50 %');
    await outbox.editText(to, id, 'Done.');
    await outbox.editText(to, id, 'Video ready.');
    await outbox.editText(to, id, '视频已完成。');

    expect(text()).toBe('bot › Working on it…\nbot › Rendering… 50 %\n');
  });

  it('when buttons come with a Chinese reply, then the hint is in Chinese', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({ output, videoDir: join(dir, 'videos') });

    await outbox.sendText(to, '视频已生成。', { buttons: [{ label: '导出', action: 'export' }] });
    await outbox.sendText(to, 'Your video is ready.', { buttons: [{ label: 'Export', action: 'export' }] });

    expect(text()).toContain('[export]  （输入按钮上的词）');
    expect(text()).toContain('[export]  (type the word)');
  });

  it('when the reply says the video service cannot be reached, then the service tried and the log file are added', async () => {
    const { output, text } = capture();
    const outbox = new ConsoleOutbox({
      output,
      videoDir: join(dir, 'videos'),
      network: { service: 'https://api.example.test', logFile: '/home/ada/.data/console.log' },
    });

    await outbox.sendText(to, "I can't reach the video service right now. Please try again in a minute.");
    await outbox.sendText(to, 'Credits: 100 available');

    expect(text()).toBe(
      "bot › I can't reach the video service right now. Please try again in a minute.\n" +
        '      Tried https://api.example.test (NEMO_API_URL); the cause is in /home/ada/.data/console.log.\n' +
        'bot › Credits: 100 available\n',
    );
  });
});
