import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** The file stream ended before (or ran past) the size it announced. */
export class UploadSizeMismatchError extends Error {
  readonly code = 'discord_upload_size_mismatch';
  constructor(readonly expected: number, readonly received: number) {
    super(`the file stream gave ${received} bytes, ${expected} were announced`);
    this.name = 'UploadSizeMismatchError';
  }
}

/**
 * A multipart/form-data body built around a file stream, with its exact length known up front,
 * so the file is never held in memory. One use only: the stream cannot be replayed.
 */
export class UploadBody {
  used = false;
  constructor(
    readonly stream: Readable,
    readonly length: number,
    readonly contentType: string,
  ) {}
}

export interface UploadFile {
  name: string;
  contentType: string;
  size: number;
  stream: Readable;
}

/** `payload_json` then `files[0]`, as Discord's message endpoints take them. */
export function multipartUpload(payload: unknown, file: UploadFile): UploadBody {
  const boundary = `----nemovideobot${randomBytes(12).toString('hex')}`;
  const filename = file.name.replace(/[\r\n"\\]/g, '_');
  const head = Buffer.from(
    `--${boundary}\r\n` +
      'Content-Disposition: form-data; name="payload_json"\r\n' +
      'Content-Type: application/json\r\n\r\n' +
      `${JSON.stringify(payload)}\r\n` +
      `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="files[0]"; filename="${filename}"\r\n` +
      `Content-Type: ${file.contentType}\r\n\r\n`,
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');

  async function* parts(): AsyncGenerator<Buffer> {
    yield head;
    let received = 0;
    for await (const chunk of file.stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      // Never send more than announced: Content-Length would be a lie.
      if (received > file.size) throw new UploadSizeMismatchError(file.size, received);
      yield bytes;
    }
    if (received !== file.size) throw new UploadSizeMismatchError(file.size, received);
    yield tail;
  }

  return new UploadBody(Readable.from(parts(), { objectMode: false }), head.length + file.size + tail.length, `multipart/form-data; boundary=${boundary}`);
}
