import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AttachmentDownloadError, discordAttachment } from '../../adapters/discord/attachments.js';
import { waitFor } from '../helpers/wait-for.js';

let server: Server | undefined;
let requests = 0;
let sent = 0;
let completed: boolean | undefined;

afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
  server = undefined;
  requests = 0;
  sent = 0;
  completed = undefined;
});

/** A CDN that serves `total` bytes in 16 KiB chunks, with no Content-Length (chunked), or a status. */
async function cdn(total: number, status = 200): Promise<string> {
  server = createServer((req, res) => {
    requests += 1;
    if (status !== 200) {
      res.writeHead(status).end('This content is no longer available.');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'video/mp4' });
    const write = (): void => {
      while (sent < total) {
        const n = Math.min(16 * 1024, total - sent);
        sent += n;
        if (!res.write(Buffer.alloc(n, 7))) return void res.once('drain', write);
      }
      res.end();
    };
    res.on('close', () => {
      completed = res.writableFinished;
      total = sent;
    });
    write();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/attachments/1/2/clip.mp4?ex=ffffffff&hm=abc`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<number> {
  return (await readCounting(stream)).bytes;
}

/** Reads to the end or the first error, counting what came through. */
async function readCounting(stream: NodeJS.ReadableStream): Promise<{ bytes: number; error?: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
  } catch (error) {
    return { bytes, error };
  }
  return { bytes };
}

describe('Discord attachments', () => {
  it('when Discord gives a content type, then it is used, else the extension decides', () => {
    const options = { maxBytes: 1000 };
    expect(discordAttachment({ name: 'a.bin', url: 'http://x', size: 1, contentType: 'video/mp4; charset=binary' }, options).mimeType).toBe('video/mp4');
    expect(discordAttachment({ name: 'song.mp3', url: 'http://x', size: 1, contentType: null }, options).mimeType).toBe('audio/mpeg');
  });

  it('when the file is opened, then its bytes stream from the CDN', async () => {
    const url = await cdn(100_000);
    const file = discordAttachment({ name: 'clip.mp4', url, size: 100_000, contentType: 'video/mp4' }, { maxBytes: 1_000_000 });
    expect(requests).toBe(0);
    expect(await readAll(await file.open())).toBe(100_000);
    expect(requests).toBe(1);
  });

  it('when Discord announced a size over the limit, then nothing is requested', async () => {
    const url = await cdn(10);
    const file = discordAttachment({ name: 'big.mp4', url, size: 2_000_000, contentType: 'video/mp4' }, { maxBytes: 1_000_000 });
    const error = await file.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttachmentDownloadError);
    expect((error as AttachmentDownloadError).code).toBe('attachment_too_large');
    expect(requests).toBe(0);
  });

  it('when the CDN sends more than Discord announced, then reading stops at the announced size', async () => {
    const url = await cdn(5_000_000);
    const file = discordAttachment({ name: 'clip.mp4', url, size: 50_000, contentType: 'video/mp4' }, { maxBytes: 10_000_000 });
    const { bytes, error } = await readCounting(await file.open());
    expect(error).toBeInstanceOf(AttachmentDownloadError);
    expect((error as AttachmentDownloadError).code).toBe('attachment_too_large');
    expect(bytes).toBeLessThanOrEqual(50_000);
    // The connection was cut: the CDN never finished sending its 5 MB.
    await waitFor(() => completed !== undefined, { message: 'the CDN response to close' });
    expect(completed).toBe(false);
  });

  it('when the signed link has expired, then the error says so without the link', async () => {
    const url = await cdn(0, 404);
    const file = discordAttachment({ name: 'clip.mp4', url, size: 10, contentType: 'video/mp4' }, { maxBytes: 1000 });
    const error = await file.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttachmentDownloadError);
    expect((error as Error).message).toMatch(/answered 404/);
    expect((error as Error).message).not.toContain('hm=');
  });
});
