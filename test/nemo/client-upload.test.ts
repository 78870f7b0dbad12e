import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NemoInputError } from '../../src/nemo/errors.js';
import { MAX_UPLOAD_BYTES } from '../../src/nemo/formats.js';
import type { UploadSource } from '../../src/nemo/types.js';
import { useNemoHarness } from './client-harness.js';

describe('NemoClient uploads', () => {
  const h = useNemoHarness();
  let dir: string;
  let clipPath: string;
  let clipSha: string;
  const CLIP_BYTES = 3 * 1024 * 1024 + 17;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nemo-upload-'));
    clipPath = join(dir, 'beach day.mp4');
    const bytes = randomBytes(CLIP_BYTES);
    clipSha = createHash('sha256').update(bytes).digest('hex');
    await writeFile(clipPath, bytes);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function clipSource(opened: { count: number; maxChunk: number }): UploadSource {
    return {
      name: 'beach day.mp4',
      mimeType: 'video/mp4',
      size: CLIP_BYTES,
      open: () => {
        opened.count += 1;
        const stream = createReadStream(clipPath, { highWaterMark: 64 * 1024 });
        stream.on('data', (chunk) => (opened.maxChunk = Math.max(opened.maxChunk, chunk.length)));
        return stream;
      },
    };
  }

  it('when a real file is uploaded, then the service receives exactly its bytes, read in small chunks', async () => {
    const { cred, session } = await h.user();
    const opened = { count: 0, maxChunk: 0 };
    const files = await h.client.uploadFile(cred, session.sessionId, clipSource(opened));
    expect(h.fake.uploads).toEqual([
      { sessionId: session.sessionId, filename: 'beach day.mp4', size: CLIP_BYTES, sha256: clipSha, kind: 'file' },
    ]);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ filename: 'beach day.mp4', fileType: 'video', duration: 2, width: 160, height: 120 });
    expect(files[0]?.cdnUrl).toMatch(/^http/);
    expect(opened).toEqual({ count: 1, maxChunk: 64 * 1024 });
  });

  it('when the token expired during an upload, then the file is opened again and sent whole with the new token', async () => {
    const { cred, session } = await h.user();
    h.fake.expireToken(cred.current);
    const opened = { count: 0, maxChunk: 0 };
    await h.client.uploadFile(cred, session.sessionId, clipSource(opened));
    expect(cred.renewals).toBe(1);
    expect(opened.count).toBe(2);
    expect(h.fake.uploads.map((upload) => upload.sha256)).toEqual([clipSha]);
  });

  it('when a file is over 50 MB, then it is refused before it is opened or any byte is sent', async () => {
    const { cred, session } = await h.user();
    const requestsBefore = h.fake.requests.length;
    let opened = false;
    const huge: UploadSource = {
      name: 'long.mov',
      mimeType: 'video/quicktime',
      size: MAX_UPLOAD_BYTES + 1,
      open: () => {
        opened = true;
        return Readable.from([]);
      },
    };
    const error = await h.rejection(h.client.uploadFile(cred, session.sessionId, huge));
    expect(error).toBeInstanceOf(NemoInputError);
    expect(error).toMatchObject({ code: 'file_too_large', nemoCode: 4002 });
    expect(opened).toBe(false);
    expect(h.fake.requests.length).toBe(requestsBefore);
    expect(h.fake.uploads).toEqual([]);
  });

  it('when a file type is not accepted, then it is refused locally as unsupported_file', async () => {
    const { cred, session } = await h.user();
    const requestsBefore = h.fake.requests.length;
    const source: UploadSource = { name: 'setup.exe', mimeType: 'application/x-msdownload', size: 10, open: () => Readable.from([Buffer.alloc(10)]) };
    const error = await h.rejection(h.client.uploadFile(cred, session.sessionId, source));
    expect(error).toMatchObject({ code: 'unsupported_file', nemoCode: 4001 });
    expect(h.fake.requests.length).toBe(requestsBefore);
  });

  it('when a file yields more bytes than it declared, then the upload stops as too large and the service records nothing', async () => {
    const { cred, session } = await h.user();
    const liar: UploadSource = { name: 'clip.mp4', mimeType: 'video/mp4', size: 4, open: () => Readable.from([Buffer.from('12345678')]) };
    const error = await h.rejection(h.client.uploadFile(cred, session.sessionId, liar));
    expect(error).toBeInstanceOf(NemoInputError);
    expect(error).toMatchObject({ code: 'file_too_large' });
    expect(h.fake.uploads).toEqual([]);
    // The fake sees a body cut short of its closing boundary: expected here, so it is not a contract breach of ours.
    h.fake.violations.splice(0, h.fake.violations.length, ...h.fake.violations.filter((v) => !v.includes('ended before its closing boundary')));
  });

  it('when links are uploaded, then they are sent as JSON urls with source_type url', async () => {
    const { cred, session } = await h.user();
    const files = await h.client.uploadUrls(cred, session.sessionId, ['https://example.com/media/song.mp3']);
    expect(files).toEqual([expect.objectContaining({ filename: 'song.mp3', fileType: 'audio' })]);
    expect(h.fake.uploads).toEqual([expect.objectContaining({ kind: 'url', url: 'https://example.com/media/song.mp3' })]);
    const request = h.fake.requests.find((r) => r.path.startsWith('/api/upload-video/'));
    expect(request?.body).toEqual({ urls: ['https://example.com/media/song.mp3'], source_type: 'url' });
  });
});
