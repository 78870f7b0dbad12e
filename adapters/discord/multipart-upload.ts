import type { Readable } from 'node:stream';
import { multipartStream, type MultipartStream } from '../../src/lib/multipart-stream.js';

/** The file stream ended before (or ran past) the size it announced. */
export class UploadSizeMismatchError extends Error {
  readonly code = 'discord_upload_size_mismatch';
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
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
  /** What the server answered when it refused the upload (the start of its body). */
  answer: string | undefined;
  constructor(private readonly body: MultipartStream) {}

  get length(): number {
    return this.body.contentLength;
  }

  get contentType(): string {
    return this.body.contentType;
  }

  /** The bytes to send: head, file, tail, read as the socket drains. */
  open(): Promise<Readable> {
    return this.body.open();
  }
}

export interface UploadFile {
  name: string;
  contentType: string;
  size: number;
  stream: Readable;
}

/** `payload_json` then `files[0]`, as Discord's message endpoints take them. */
export function multipartUpload(payload: unknown, file: UploadFile): UploadBody {
  return new UploadBody(
    multipartStream({
      fields: [{ name: 'payload_json', value: JSON.stringify(payload), contentType: 'application/json' }],
      file: { field: 'files[0]', filename: file.name, contentType: file.contentType, size: file.size, source: file.stream },
      sizeMismatchError: (mismatch) => new UploadSizeMismatchError(mismatch.expected, mismatch.received),
    }),
  );
}
