import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { multipartStream, MultipartSizeMismatchError, type MultipartStreamOptions } from '../../src/lib/multipart-stream.js';

async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface Part {
  headers: string[];
  body: Buffer;
}

/** A deliberately plain parser of the produced bytes: the raw header lines and each part's body. */
function parse(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1] ?? '';
  const delimiter = Buffer.from(`--${boundary}`);
  expect(body.subarray(0, delimiter.length).equals(delimiter)).toBe(true);
  expect(body.subarray(body.length - delimiter.length - 4).toString()).toBe(`${delimiter.toString()}--\r\n`);
  const parts: Part[] = [];
  let at = delimiter.length + 2;
  for (;;) {
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), at);
    if (next < 0) break;
    const part = body.subarray(at, next);
    const split = part.indexOf('\r\n\r\n');
    parts.push({ headers: part.subarray(0, split).toString().split('\r\n'), body: part.subarray(split + 4) });
    at = next + 2 + delimiter.length + 2;
  }
  return parts;
}

function options(bytes: Buffer, overrides: Partial<MultipartStreamOptions['file']> = {}): MultipartStreamOptions {
  return {
    fields: [
      { name: 'chat_id', value: '-100123' },
      { name: 'payload_json', value: '{"content":"héllo"}', contentType: 'application/json' },
    ],
    file: { field: 'video', filename: 'clip.mp4', contentType: 'video/mp4', size: bytes.length, source: Readable.from([bytes]), ...overrides },
  };
}

describe('multipartStream', () => {
  it('when fields and a file are framed, then the exact Content-Length is known up front and the body parses back', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const upload = multipartStream(options(bytes));
    const body = await collect(await upload.open());
    expect(body.length).toBe(upload.contentLength);
    const parts = parse(body, upload.contentType);
    expect(parts.map((p) => p.headers)).toEqual([
      ['Content-Disposition: form-data; name="chat_id"'],
      ['Content-Disposition: form-data; name="payload_json"', 'Content-Type: application/json'],
      ['Content-Disposition: form-data; name="video"; filename="clip.mp4"', 'Content-Type: video/mp4'],
    ]);
    expect(parts[0]?.body.toString()).toBe('-100123');
    expect(parts[1]?.body.toString()).toBe('{"content":"héllo"}');
    expect(parts[2]?.body.equals(bytes)).toBe(true);
    // An independent parser (undici's) agrees.
    const form = await new Response(body, { headers: { 'content-type': upload.contentType } }).formData();
    expect(form.get('chat_id')).toBe('-100123');
    const file = form.get('video') as File;
    expect(file.name).toBe('clip.mp4');
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('when names and filenames hold quotes or line breaks, then they are escaped as browsers do and cannot forge a header', async () => {
    const bytes = Buffer.from('abc');
    const upload = multipartStream({
      fields: [{ name: 'a"b\r\nX-Evil: 1', value: 'v' }],
      file: { field: 'video', filename: 'my "best"\r\nContent-Type: text/html.mp4', contentType: 'video/mp4\r\nX-Evil: 1', size: 3, source: Readable.from([bytes]) },
    });
    const parts = parse(await collect(await upload.open()), upload.contentType);
    expect(parts[0]?.headers).toEqual(['Content-Disposition: form-data; name="a%22b%0D%0AX-Evil: 1"']);
    expect(parts[1]?.headers).toEqual([
      'Content-Disposition: form-data; name="video"; filename="my %22best%22%0D%0AContent-Type: text/html.mp4"',
      'Content-Type: video/mp4X-Evil: 1',
    ]);
    expect(parts[1]?.body.equals(bytes)).toBe(true);
  });

  it('when the file gives more bytes than declared, then it fails with multipart_size_mismatch before sending the extra bytes, and the source is destroyed', async () => {
    const source = Readable.from([Buffer.alloc(6), Buffer.alloc(6)]);
    const upload = multipartStream(options(Buffer.alloc(8), { source }));
    const sent: Buffer[] = [];
    const error = await (async () => {
      for await (const chunk of (await upload.open()) as AsyncIterable<Buffer>) sent.push(chunk);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MultipartSizeMismatchError);
    expect(error).toMatchObject({ code: 'multipart_size_mismatch', expected: 8, received: 12 });
    expect(Buffer.concat(sent).length).toBeLessThan(upload.contentLength);
    expect(source.destroyed).toBe(true);
  });

  it('when the file ends short of its declared size, then it fails with multipart_size_mismatch and the closing boundary is never sent', async () => {
    const source = Readable.from([Buffer.alloc(5)]);
    const upload = multipartStream(options(Buffer.alloc(8), { source }));
    const sent: Buffer[] = [];
    const error = await (async () => {
      for await (const chunk of (await upload.open()) as AsyncIterable<Buffer>) sent.push(chunk);
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'multipart_size_mismatch', expected: 8, received: 5 });
    expect(Buffer.concat(sent).toString('latin1')).not.toMatch(/--\r\n$/);
    expect(source.destroyed).toBe(true);
  });

  it('when a caller maps the mismatch, then its own error is thrown instead', async () => {
    class TooBig extends Error {}
    const upload = multipartStream({ ...options(Buffer.alloc(2), { source: Readable.from([Buffer.alloc(3)]) }), sizeMismatchError: () => new TooBig('too big') });
    await expect(collect(await upload.open())).rejects.toBeInstanceOf(TooBig);
  });

  it('when the source fails, then the body fails with its error and the source is destroyed', async () => {
    const source = new Readable({ read() {} });
    const upload = multipartStream(options(Buffer.alloc(100), { source }));
    const body = await upload.open();
    source.push(Buffer.alloc(10));
    const reading = collect(body);
    source.destroy(new Error('CDN connection reset'));
    await expect(reading).rejects.toThrow(/CDN connection reset/);
    expect(body.destroyed).toBe(true);
  });

  it('when the body is dropped before it is read (the request failed early), then the source is destroyed', async () => {
    const source = new Readable({ read() {} });
    const body = await multipartStream(options(Buffer.alloc(100), { source })).open();
    body.destroy();
    await tick();
    expect(source.destroyed).toBe(true);
  });

  it('when the source is an opener, then each open re-reads the file with the same boundary; a Readable opens once', async () => {
    let opened = 0;
    const upload = multipartStream({ file: { field: 'files', filename: 'a.mp4', contentType: 'video/mp4', size: 4, source: () => (opened += 1, Readable.from([Buffer.from('abcd')])) } });
    const first = await collect(await upload.open());
    const second = await collect(await upload.open());
    expect(opened).toBe(2);
    expect(second.equals(first)).toBe(true);
    const once = multipartStream(options(Buffer.from('x')));
    await collect(await once.open());
    await expect(once.open()).rejects.toThrow(/once/);
  });

  it('when the consumer is slow, then the source is never read more than 1 MiB ahead of what was consumed', async () => {
    const CHUNK = 16 * 1024;
    const TOTAL = 8 * 1024 * 1024;
    let produced = 0;
    const source = Readable.from(
      (function* () {
        for (let offset = 0; offset < TOTAL; offset += CHUNK) {
          produced += CHUNK;
          yield Buffer.alloc(CHUNK, offset / CHUNK);
        }
      })(),
    );
    const upload = multipartStream({ file: { field: 'video', filename: 'big.mp4', contentType: 'video/mp4', size: TOTAL, source } });
    let consumed = 0;
    let maxAhead = 0;
    for await (const chunk of (await upload.open()) as AsyncIterable<Buffer>) {
      consumed += chunk.length;
      maxAhead = Math.max(maxAhead, produced - consumed);
      // A slow consumer: an eager reader would have drained the whole source meanwhile.
      await tick();
    }
    expect(consumed).toBe(upload.contentLength);
    expect(produced).toBe(TOTAL);
    expect(maxAhead).toBeLessThanOrEqual(1024 * 1024);
  });
});
