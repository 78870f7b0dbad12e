import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Attachment } from '../../src/core/types.js';
import { convertVoiceNote, isVoiceNote, m4aName, VoiceNoteError } from '../../src/media/voice-note.js';
import { makeVoiceNote, probe, processesUsing } from '../helpers/audio.js';
import { waitFor } from '../helpers/wait-for.js';

let opus: Buffer;
let work: string;

beforeAll(async () => {
  opus = await makeVoiceNote('libopus');
});

beforeEach(async () => {
  // Each test's own temp root: what the module leaves behind is exactly what is in it.
  work = await mkdtemp(join(tmpdir(), 'voice-note-test-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function voice(bytes: Buffer, name = 'voice_abc.ogg', mimeType = 'audio/ogg'): Attachment & { opened: number } {
  const file = { name, mimeType, size: bytes.length, opened: 0, open: async () => {
    file.opened += 1;
    return Readable.from([bytes]);
  } };
  return file;
}

/** A source that sends `head`, and when asked for more, breaks (`error`) or never answers (`stall`). */
function stalling(head: Buffer, size: number, then: 'error' | 'stall'): Attachment & { stream: Readable } {
  let reads = 0;
  const stream = new Readable({
    read() {
      reads += 1;
      if (reads === 1) this.push(head);
      else if (then === 'error') this.destroy(new Error('connection reset by peer'));
    },
  });
  return { name: 'voice.ogg', mimeType: 'audio/ogg', size, stream, open: async () => stream };
}

async function failure(promise: Promise<unknown>): Promise<VoiceNoteError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(VoiceNoteError);
  return error as VoiceNoteError;
}

describe('isVoiceNote', () => {
  it.each([
    ['voice_AgAD.ogg', 'audio/ogg', true],
    ['voice-message.ogg', 'application/octet-stream', true],
    ['memo.OGA', '', true],
    ['memo.opus', '', true],
    ['voice', 'audio/ogg; codecs=opus', true],
    ['voice', 'audio/opus', true],
    ['voice', 'audio/x-opus+ogg', true],
    ['voice', 'application/ogg', true],
    ['song.mp3', 'audio/mpeg', false],
    ['clip.webm', 'audio/webm', false],
    ['notes.txt', 'text/plain', false],
    ['voice', 'application/octet-stream', false],
    ['film.ogg', 'video/ogg', false],
  ])('when a file is named %s with type "%s", then it is a voice note: %s', (name, mime, expected) => {
    expect(isVoiceNote(name, mime)).toBe(expected);
  });

  it('when a voice note is renamed, then it keeps its base name with .m4a', () => {
    expect(m4aName('voice_AgAD.ogg')).toBe('voice_AgAD.m4a');
    expect(m4aName('memo.final.opus')).toBe('memo.final.m4a');
    expect(m4aName('voice')).toBe('voice.m4a');
    expect(m4aName('.ogg')).toBe('voice.m4a');
  });
});

describe('convertVoiceNote', () => {
  it.each(['libopus', 'libvorbis'] as const)('when an Ogg voice note (%s) comes in, then an AAC .m4a of the exact size comes out, and cleanup removes it', async (codec) => {
    const source = voice(codec === 'libopus' ? opus : await makeVoiceNote(codec));
    const converted = await convertVoiceNote(source, { tmpDir: work });

    expect(converted.attachment.name).toBe('voice_abc.m4a');
    expect(converted.attachment.mimeType).toBe('audio/mp4');
    const [dir] = await readdir(work);
    expect(dir).toMatch(/^nemo-voice-/);
    const onDisk = await stat(join(work, dir ?? '', 'voice.m4a'));
    expect(converted.attachment.size).toBe(onDisk.size);

    // open() reads the whole file, and may be called again (an upload retry).
    const bytes = Buffer.concat(await (await converted.attachment.open()).toArray());
    const again = Buffer.concat(await (await converted.attachment.open()).toArray());
    expect(bytes.length).toBe(converted.attachment.size);
    expect(again.equals(bytes)).toBe(true);
    const probed = await probe(bytes);
    expect(probed.codecs).toEqual(['aac']);
    expect(probed.format).toMatch(/mp4|m4a/);
    expect(probed.brand).toBe('M4A ');
    expect(source.opened).toBe(1);

    await converted.cleanup();
    expect(await readdir(work)).toEqual([]);
    // Twice is harmless.
    await converted.cleanup();
  });

  it('when the bytes are not Ogg at all, then it is a typed "unconvertible" error naming ffmpeg\'s reason, and nothing is left behind', async () => {
    const garbage = Buffer.from('this is not an ogg file, just some text pretending to be one'.repeat(50));
    const error = await failure(convertVoiceNote(voice(garbage), { tmpDir: work }));
    expect(error.code).toBe('voice_note_unconvertible');
    expect(error.message).toMatch(/^ffmpeg exited with 1: \S/);
    expect(error.message).not.toContain('pretending');
    expect(await readdir(work)).toEqual([]);
  });

  it('when ffmpeg gives up on bad bytes before reading them all, then it is still "unconvertible", not a download failure', async () => {
    // Far more than a pipe holds: ffmpeg exits while bytes are still being written to it.
    const garbage = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    const chunks = Array.from({ length: 64 }, (_, i) => garbage.subarray(i * 65536, (i + 1) * 65536));
    const source: Attachment = { name: 'voice.ogg', mimeType: 'audio/ogg', size: garbage.length, open: async () => Readable.from(chunks) };
    const error = await failure(convertVoiceNote(source, { tmpDir: work }));
    expect(error.code).toBe('voice_note_unconvertible');
    expect(await readdir(work)).toEqual([]);
  });

  it('when the source breaks midway, then it is a typed error carrying the cause, ffmpeg is not left running and nothing is left behind', async () => {
    const source = stalling(opus.subarray(0, Math.floor(opus.length / 2)), opus.length, 'error');
    const error = await failure(convertVoiceNote(source, { tmpDir: work }));
    expect(error.code).toBe('voice_note_source_failed');
    expect((error.cause as Error).message).toBe('connection reset by peer');
    expect(await processesUsing(work)).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });

  it('when the source stalls past the time limit, then ffmpeg is killed and it is a typed timeout', async () => {
    const source = stalling(opus.subarray(0, 1000), opus.length, 'stall');
    const started = Date.now();
    const error = await failure(convertVoiceNote(source, { tmpDir: work, timeoutMs: 500 }));
    expect(error.code).toBe('voice_note_timeout');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(source.stream.destroyed).toBe(true);
    expect(await processesUsing(work)).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });

  it('when the conversion is aborted while ffmpeg runs, then ffmpeg is killed and it is a typed abort', async () => {
    const source = stalling(opus.subarray(0, 1000), opus.length, 'stall');
    const abort = new AbortController();
    const converting = failure(convertVoiceNote(source, { tmpDir: work, signal: abort.signal }));
    await waitFor(async () => (await processesUsing(work)).length === 1, { message: 'ffmpeg running' });
    abort.abort();
    const error = await converting;
    expect(error.code).toBe('voice_note_aborted');
    expect(await processesUsing(work)).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });

  it('when the declared size is over the limit, then it is refused before the source is opened', async () => {
    const source = voice(opus);
    const error = await failure(convertVoiceNote(source, { tmpDir: work, maxBytes: opus.length - 1 }));
    expect(error.code).toBe('voice_note_too_large');
    expect(error.maxBytes).toBe(opus.length - 1);
    expect(source.opened).toBe(0);
    expect(await readdir(work)).toEqual([]);
  });

  it('when the source sends more than the limit despite its declared size, then the conversion stops as too large', async () => {
    const source = { ...voice(opus), size: 100 };
    const error = await failure(convertVoiceNote(source, { tmpDir: work, maxBytes: 2000 }));
    expect(error.code).toBe('voice_note_too_large');
    expect(await processesUsing(work)).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });

  it('when ffmpeg is missing, then it is a typed "converter missing" error and the source is closed', async () => {
    const stream = Readable.from([opus]);
    const source: Attachment = { name: 'voice.ogg', mimeType: 'audio/ogg', size: opus.length, open: async () => stream };
    const error = await failure(convertVoiceNote(source, { tmpDir: work, ffmpegPath: join(work, 'no-such-ffmpeg') }));
    expect(error.code).toBe('voice_note_converter_missing');
    if (!stream.destroyed) await once(stream, 'close');
    expect(stream.destroyed).toBe(true);
    expect(await readdir(work)).toEqual([]);
  });

  it('when ffmpeg runs, then the bot\'s secrets are not in its environment', async () => {
    // A stand-in that records its environment, then runs the real ffmpeg.
    const bin = await mkdtemp(join(tmpdir(), 'voice-note-bin-'));
    const wrapper = join(bin, 'ffmpeg');
    await writeFile(wrapper, `#!/bin/sh\nenv > "${join(bin, 'env.txt')}"\nexec ffmpeg "$@"\n`);
    await chmod(wrapper, 0o755);
    const saved = process.env.TELEGRAM_BOT_TOKEN;
    process.env.TELEGRAM_BOT_TOKEN = '123456:secret-token-for-the-test';
    try {
      const converted = await convertVoiceNote(voice(opus), { tmpDir: work, ffmpegPath: wrapper });
      await converted.cleanup();
      const env = await readFile(join(bin, 'env.txt'), 'utf8');
      expect(env).toMatch(/^PATH=/m);
      expect(env).not.toContain('secret-token-for-the-test');
    } finally {
      if (saved === undefined) delete process.env.TELEGRAM_BOT_TOKEN;
      else process.env.TELEGRAM_BOT_TOKEN = saved;
      await rm(bin, { recursive: true, force: true });
    }
  });

  it('when the output is uploaded by bytes, then it starts with an M4A ftyp box', async () => {
    const converted = await convertVoiceNote(voice(opus, 'memo.opus', ''), { tmpDir: work });
    try {
      const head = (await readFile(join(work, (await readdir(work))[0] ?? '', 'voice.m4a'))).subarray(0, 12);
      expect(head.subarray(4, 12).toString('latin1')).toBe('ftypM4A ');
      expect(converted.attachment.name).toBe('memo.m4a');
    } finally {
      await converted.cleanup();
    }
  });
});
