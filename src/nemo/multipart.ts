import type { Readable } from 'node:stream';
import { multipartStream } from '../lib/multipart-stream.js';
import { NemoInputError } from './errors.js';

export interface MultipartFile {
  field: string;
  name: string;
  mimeType: string;
  size: number;
  open(): Readable | Promise<Readable>;
}

export interface MultipartBody {
  contentType: string;
  contentLength: number;
  /** Opens the file (again on each call) and streams head, bytes and tail: nothing is buffered beyond one chunk. */
  open(): Promise<Readable>;
}

/** A one-file `multipart/form-data` body with an exact Content-Length, streamed from the source. */
export function multipartBody(file: MultipartFile): MultipartBody {
  const body = multipartStream({
    file: { field: file.field, filename: file.name, contentType: file.mimeType, size: file.size, source: () => file.open() },
    // More bytes than declared: a file too large for what we promised. `send` lets a NemoInputError through as is.
    sizeMismatchError: (mismatch) =>
      mismatch.received > mismatch.expected ? new NemoInputError('file_too_large', 'The file has more bytes than its declared size') : mismatch,
  });
  return { contentType: body.contentType, contentLength: body.contentLength, open: () => body.open() };
}
