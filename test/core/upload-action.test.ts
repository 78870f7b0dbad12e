import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import pLimit from 'p-limit';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatReply } from '../../src/core/chat-reply.js';
import type { Conversation } from '../../src/core/conversation.js';
import type { UserCredentials } from '../../src/core/credentials.js';
import { errorAnswer, errorReply } from '../../src/core/error-reply.js';
import type { SessionRecord } from '../../src/core/session-store.js';
import { AttachmentFetchError, type Attachment, type ChatAddress, type Outbox } from '../../src/core/types.js';
import { receiveUploads, type UploadContext } from '../../src/core/upload-action.js';
import { createLogger } from '../../src/log.js';
import { NemoApiError } from '../../src/nemo/errors.js';
import type { UploadSource } from '../../src/nemo/types.js';
import { makeVoiceNote, probe } from '../helpers/audio.js';
import { waitFor } from '../helpers/wait-for.js';

let opus: Buffer;
let work: string;

beforeAll(async () => {
  opus = await makeVoiceNote();
});

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'upload-action-test-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function file(name: string, mimeType: string, bytes: Buffer): Attachment {
  return { name, mimeType, size: bytes.length, open: async () => Readable.from([bytes]) };
}

interface Received {
  name: string;
  mimeType: string;
  size: number;
  bytes: Buffer;
}

/**
 * The chat and NemoVideo around `receiveUploads`: the chat records what the bot says, NemoVideo
 * reads each upload to its end (as the real service does) and answers with `answer`.
 */
function rig(answer: (file: Received) => Error | undefined = () => undefined) {
  const said: string[] = [];
  const logLines: string[] = [];
  const received: Received[] = [];
  const outbox: Outbox = {
    platform: 'console',
    sendText: async (_to, text) => {
      said.push(text);
      return String(said.length);
    },
    editText: async (_to, _id, text) => {
      said.push(text);
    },
    sendVideo: async () => undefined,
    maxUploadBytes: () => 50 * 1024 * 1024,
    isShared: () => false,
    sendPrivate: async (_to, reply) => {
      said.push(reply.text);
    },
  };
  const address: ChatAddress = { platform: 'console', chatId: 'c1', userId: 'u1' };
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString('utf8'));
        callback();
      },
    }),
  });
  const conv: Conversation = {
    key: { platform: 'console', chatId: 'c1', userId: 'u1' },
    lang: 'en',
    reply: new ChatReply(outbox, address, 'en'),
    cred: { platform: 'console', token: async () => 'nmv_usr_test' } as unknown as UserCredentials,
    log,
  };
  const record = { sessionId: 's1' } as SessionRecord;
  const ctx: UploadContext = {
    api: {
      uploadFile: async (_cred, _sessionId, source: UploadSource) => {
        const bytes = Buffer.concat(await (await source.open()).toArray());
        const got = { name: source.name, mimeType: source.mimeType, size: source.size, bytes };
        received.push(got);
        const error = answer(got);
        if (error) throw error;
        return [];
      },
      uploadUrls: async () => [],
    },
    documentMaxChars: 1000,
    withProject: (_conv, work) => work(record),
    allowUploads: () => Promise.resolve(true),
    errorText: async (_conv, error, fileName) => errorAnswer(error, 'en', { webUrl: 'https://nemovideo.example', anonymous: false, fileName }),
    voiceNotes: { tmpDir: work },
  };
  return { ctx, conv, said, received, logs: () => logLines.join('') };
}

describe('receiveUploads with voice notes', () => {
  it('when more voice notes arrive at once than there are conversion slots, then the others wait: each is read only once a slot is free, and all are converted', async () => {
    const r = rig();
    r.ctx.voiceSlots = pLimit(1);
    const opened: string[] = [];
    const held = new PassThrough();
    const first: Attachment = {
      name: 'first.ogg',
      mimeType: 'audio/ogg',
      size: opus.length,
      open: async () => {
        opened.push('first');
        return held;
      },
    };
    const second: Attachment = { ...file('second.ogg', 'audio/ogg', opus), open: async () => (opened.push('second'), Readable.from([opus])) };

    const both = Promise.all([receiveUploads(r.ctx, r.conv, [first], ''), receiveUploads(r.ctx, r.conv, [second], '')]);
    await waitFor(() => opened.length > 0, { message: 'the first conversion started' });
    // The first conversion holds the only slot while its source is still arriving.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(opened).toEqual(['first']);
    held.end(opus);
    await both;

    expect(opened).toEqual(['first', 'second']);
    expect(r.received.map((f) => f.name).sort()).toEqual(['first.m4a', 'second.m4a']);
    expect(await readdir(work)).toEqual([]);
  });

  it('when a voice note comes with a song, then the note is uploaded as an AAC .m4a of its exact size, the song as sent, and no temp file remains', async () => {
    const r = rig();
    const song = Buffer.from('ID3-a-song');
    const relay = await receiveUploads(r.ctx, r.conv, [file('voice_1.ogg', 'audio/ogg', opus), file('song.mp3', 'audio/mpeg', song)], 'use this as the narration');

    expect(relay).toBe('use this as the narration');
    expect(r.received.map((f) => [f.name, f.mimeType])).toEqual([['voice_1.m4a', 'audio/mp4'], ['song.mp3', 'audio/mpeg']]);
    const [voice, mp3] = r.received;
    expect(voice?.bytes.length).toBe(voice?.size);
    expect((await probe(voice?.bytes ?? Buffer.alloc(0))).codecs).toEqual(['aac']);
    expect(sha256(mp3?.bytes ?? Buffer.alloc(0))).toBe(sha256(song));
    expect(r.said).toContain('Converting the voice note voice_1.ogg…');
    // The words came with the files, so the bot does not ask what to do with them.
    expect(r.said).toContain('Uploaded: voice_1.m4a, song.mp3.');
    expect(r.said.join('\n')).not.toMatch(/Tell me what to do/);
    expect(await readdir(work)).toEqual([]);
  });

  it('when NemoVideo refuses the converted upload, then the user gets that refusal and the temp file is still removed', async () => {
    const r = rig(() => new NemoApiError({ status: 500, endpoint: '/api/upload-video/nemo_agent/me/:sessionId' }));
    await receiveUploads(r.ctx, r.conv, [file('voice_1.ogg', 'audio/ogg', opus)], '');

    expect(r.received.map((f) => f.name)).toEqual(['voice_1.m4a']);
    expect(r.said.at(-1)).toBe(errorReply(new NemoApiError({ status: 500, endpoint: '/x' }), 'en', { webUrl: '', anonymous: false, fileName: 'voice_1.ogg' }));
    expect(await readdir(work)).toEqual([]);
  });

  it('when one voice note cannot be converted, then it gets its own reply, the log says why, and the next file still goes', async () => {
    const r = rig();
    const picture = Buffer.from('PNG-bytes');
    await receiveUploads(r.ctx, r.conv, [file('broken.ogg', 'audio/ogg', Buffer.from('not an ogg')), file('cover.png', 'image/png', picture)], '');

    expect(r.said).toContain('I couldn\'t convert the voice note "broken.ogg" into audio I can use. Please send the audio as one of: mp3, wav, m4a, aac.');
    expect(r.received.map((f) => f.name)).toEqual(['cover.png']);
    const line = r.logs().split('\n').find((l) => l.includes('attachment refused')) ?? '';
    expect(JSON.parse(line)).toMatchObject({ file: 'broken.ogg', err: { name: 'VoiceNoteError', code: 'voice_note_unconvertible', reason: expect.stringMatching(/^ffmpeg exited with 1/) } });
    expect(r.logs()).not.toContain('not an ogg');
    expect(await readdir(work)).toEqual([]);
  });

  it('when ffmpeg is not installed, then a voice note is refused like an unsupported file would be, in its own words', async () => {
    const r = rig();
    r.ctx.voiceNotes = { tmpDir: work, ffmpegPath: join(work, 'missing-ffmpeg') };
    await receiveUploads(r.ctx, r.conv, [file('voice_1.ogg', 'audio/ogg', opus)], '');

    expect(r.said).toEqual(['Converting the voice note voice_1.ogg…', expect.stringMatching(/^I couldn't convert the voice note "voice_1\.ogg"/)]);
    expect(r.received).toEqual([]);
    expect(r.logs()).toMatch(/voice_note_converter_missing/);
  });

  it('when a file NemoVideo takes has an Ogg MIME type, then it is uploaded untouched', async () => {
    const r = rig();
    const m4a = Buffer.from('already-an-m4a');
    await receiveUploads(r.ctx, r.conv, [file('take.m4a', 'audio/ogg', m4a)], '');

    expect(r.received).toEqual([{ name: 'take.m4a', mimeType: 'audio/ogg', size: m4a.length, bytes: m4a }]);
    expect(r.said).not.toContain('Converting the voice note take.m4a…');
  });
});

describe('receiveUploads when a file cannot be fetched from the platform', () => {
  it('when the only file fails to download, then the user is told it could not be fetched and its caption is not relayed alone', async () => {
    const r = rig();
    const broken: Attachment = {
      name: 'beach.mp4',
      mimeType: 'video/mp4',
      size: 1000,
      open: async () => {
        throw new AttachmentFetchError('file download answered HTTP 404');
      },
    };
    const relay = await receiveUploads(r.ctx, r.conv, [broken], 'make it shorter');
    expect(relay).toBe('');
    expect(r.said.at(-1)).toBe('"beach.mp4" could not be fetched from the chat service. Please send it again (with your words).');
    expect(r.said.join('\n')).not.toMatch(/Something went wrong/);
  });

  it('when one file of two fails to download, then the words go with the one that arrived', async () => {
    const r = rig();
    const broken: Attachment = {
      name: 'beach.mp4',
      mimeType: 'video/mp4',
      size: 1000,
      open: async () => {
        throw new AttachmentFetchError('getFile failed');
      },
    };
    const relay = await receiveUploads(r.ctx, r.conv, [broken, file('song.mp3', 'audio/mpeg', Buffer.from('ID3-song'))], 'use these');
    expect(relay).toBe('use these');
    expect(r.received.map((f) => f.name)).toEqual(['song.mp3']);
  });
});

describe('receiveUploads with many documents in one message', () => {
  it('when an album brings ten 12,000-character documents, then the relayed text stays within the message limit and each cut document is named', async () => {
    const r = rig();
    r.ctx.documentMaxChars = 12_000;
    r.ctx.maxRelayChars = 10_000;
    const docs = Array.from({ length: 10 }, (_, i) => file(`chapter-${i}.txt`, 'text/plain', Buffer.from(`Chapter ${i}. ${'word '.repeat(2_400)}`.slice(0, 12_000))));
    const words = 'make a trailer from these chapters';

    const relay = await receiveUploads(r.ctx, r.conv, docs, words);

    expect(relay.length).toBeLessThanOrEqual(10_000);
    expect(relay.startsWith(words)).toBe(true);
    for (let i = 0; i < 10; i++) expect(relay).toContain(`[chapter-${i}.txt]\nChapter ${i}.`);
    const notices = r.said.filter((line) => /is long, so I used its first \d+ characters/.test(line));
    expect(notices).toHaveLength(10);
    // Each notice gives what was really kept: a tenth of the limit or so, not DOCUMENT_MAX_CHARS.
    for (const notice of notices) {
      const kept = Number(/first (\d+) characters/.exec(notice)?.[1]);
      expect(kept).toBeGreaterThan(900);
      expect(kept).toBeLessThan(1_000);
    }
    expect(r.received).toEqual([]);
  });

  it('when the words alone fill the message, then the documents are left out with a reply that says so', async () => {
    const r = rig();
    r.ctx.maxRelayChars = 100;
    const relay = await receiveUploads(r.ctx, r.conv, [file('notes.txt', 'text/plain', Buffer.from('some notes'))], 'w'.repeat(100));
    expect(relay).toBe('w'.repeat(100));
    expect(r.said).toContain('"notes.txt" didn\'t fit in this message with the rest, so I left it out. Send it on its own to use it.');
  });
});
