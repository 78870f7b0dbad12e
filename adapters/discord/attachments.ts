import { Transform, type Readable } from 'node:stream';
import { request } from 'undici';
import { z } from 'zod';
import type { Attachment } from '../../src/core/types.js';
import { mimeTypeOf } from '../console/mime-types.js';

/** What Discord tells about a file before any byte is read; plain JSON, kept in the inbox. */
export const AttachmentMetaSchema = z.object({
  name: z.string(),
  url: z.string(),
  size: z.number().nonnegative(),
  contentType: z.string().nullable(),
});
export type AttachmentMeta = z.infer<typeof AttachmentMetaSchema>;

export interface DownloadOptions {
  /** No file larger than this is downloaded, whatever its type (NemoVideo's 50 MB). */
  maxBytes: number;
  /** Until the CDN answers, and between two chunks; default 30 s. */
  timeoutMs?: number;
}

export class AttachmentDownloadError extends Error {
  readonly code: 'attachment_too_large' | 'attachment_download_failed';
  constructor(code: AttachmentDownloadError['code'], message: string) {
    super(message);
    this.code = code;
    this.name = 'AttachmentDownloadError';
  }
}

/**
 * A Discord attachment for the engine: name, type and size from Discord's metadata, and an
 * `open()` that streams the bytes from the CDN. The engine checks type and size before it calls
 * `open()`, and calls it while it handles the message: the signed CDN link expires, so it is
 * never kept for later nor handed to NemoVideo.
 */
export function discordAttachment(meta: AttachmentMeta, options: DownloadOptions): Attachment {
  const mimeType = meta.contentType?.split(';')[0]?.trim() || mimeTypeOf(meta.name);
  return {
    name: meta.name,
    mimeType,
    size: meta.size,
    open: () => download(meta, options),
  };
}

async function download(meta: AttachmentMeta, options: DownloadOptions): Promise<Readable> {
  if (meta.size > options.maxBytes) {
    throw new AttachmentDownloadError('attachment_too_large', `${meta.name} is ${meta.size} bytes, over the ${options.maxBytes}-byte limit`);
  }
  const timeout = options.timeoutMs ?? 30_000;
  let res;
  try {
    res = await request(meta.url, { method: 'GET', headersTimeout: timeout, bodyTimeout: timeout });
  } catch (error) {
    // The URL is signed: it stays out of the message.
    throw new AttachmentDownloadError('attachment_download_failed', `downloading ${meta.name} failed (${(error as Error).name})`);
  }
  if (res.statusCode !== 200) {
    discard(res.body);
    throw new AttachmentDownloadError('attachment_download_failed', `downloading ${meta.name} failed: the CDN answered ${res.statusCode}`);
  }
  const announced = Number(res.headers['content-length']);
  if (Number.isFinite(announced) && announced > meta.size) {
    discard(res.body);
    throw new AttachmentDownloadError('attachment_too_large', `${meta.name}: the CDN announces ${announced} bytes, Discord said ${meta.size}`);
  }
  const body = res.body;
  const limited = capAt(meta.size, meta.name);
  body.on('error', (error) => limited.destroy(error));
  // Stopping early (a refused upload) must also stop the download.
  limited.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(limited);
}

/** Stops a body nobody will read; destroying it emits an abort error that must not go unheard. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Passes bytes through and fails as soon as more than `limit` arrive: nothing past it is read. */
function capAt(limit: number, name: string): Transform {
  let received = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) {
        callback(new AttachmentDownloadError('attachment_too_large', `${name} is larger than the ${limit} bytes Discord announced`));
        return;
      }
      callback(null, chunk);
    },
  });
}
