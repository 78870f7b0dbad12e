import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import type { Telegram } from 'telegraf';
import { request } from 'undici';
import type { Attachment } from '../../src/core/types.js';
import { describeTelegramError, isFileTooBig, scrubBotPath, TelegramDownloadError, TelegramFileTooBigError } from './errors.js';
import type { FileRef } from './normalize.js';

/** The public Bot API lets a bot download files up to 20 MB (getFile answers "file is too big" above). */
export const PUBLIC_DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024;
export const PUBLIC_API_ROOT = 'https://api.telegram.org';

/**
 * How large a file this bot may download: 20 MB from the public server. A self-hosted server
 * (`telegram-bot-api --local`, announced by raising TELEGRAM_MAX_UPLOAD_MB past 50) has no limit.
 */
export function downloadLimitBytes(settings: { apiRoot: string; maxUploadMb: number }): number {
  const publicServer = settings.apiRoot.replace(/\/+$/, '') === PUBLIC_API_ROOT;
  return !publicServer && settings.maxUploadMb > 50 ? Number.MAX_SAFE_INTEGER : PUBLIC_DOWNLOAD_LIMIT_BYTES;
}

export interface TelegramFilesOptions {
  telegram: Pick<Telegram, 'getFile'>;
  token: string;
  apiRoot: string;
  maxDownloadBytes: number;
}

/**
 * Users' files: described from the message, fetched only when the engine opens them, and
 * streamed from `GET {apiRoot}/file/bot<token>/<file_path>`, never past the announced size.
 */
export class TelegramFiles {
  readonly maxDownloadBytes: number;

  constructor(private readonly options: TelegramFilesOptions) {
    this.maxDownloadBytes = options.maxDownloadBytes;
  }

  /** Known from the message alone to be over the download limit. */
  tooBig(file: FileRef): boolean {
    return file.size !== undefined && file.size > this.maxDownloadBytes;
  }

  /** Fills in a size the message left out (getFile is a lookup, not a download). */
  async withSize(file: FileRef): Promise<FileRef | TelegramFileTooBigError> {
    if (file.size !== undefined) return file;
    try {
      const info = await this.options.telegram.getFile(file.fileId);
      return info.file_size === undefined ? file : { ...file, size: info.file_size };
    } catch (error) {
      if (isFileTooBig(error)) return new TelegramFileTooBigError(file.name, undefined, this.maxDownloadBytes);
      throw error;
    }
  }

  attachment(file: FileRef): Attachment {
    return {
      name: file.name,
      mimeType: file.mimeType,
      // Unknown sizes are measured first (`spool`); one left unknown cannot be streamed with a length.
      size: file.size ?? Number.POSITIVE_INFINITY,
      open: () => this.open(file),
    };
  }

  /**
   * A file whose size neither the message nor getFile gave: downloaded now into a temp file
   * (at most the download limit), so it can be streamed on with an exact length. The caller
   * calls `cleanup()` once the engine is done with the attachment.
   */
  async spool(file: FileRef): Promise<{ attachment: Attachment; cleanup: () => Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), 'nemo-telegram-'));
    const cleanup = () => rm(dir, { recursive: true, force: true }).catch(() => undefined);
    try {
      // A fixed name inside the unique directory: the user's file name never reaches a path.
      const path = join(dir, 'file');
      await pipelineAsync(await this.open(file), createWriteStream(path));
      const { size } = await stat(path);
      return { attachment: { name: file.name, mimeType: file.mimeType, size, open: async () => createReadStream(path) }, cleanup };
    } catch (error) {
      await cleanup();
      throw error;
    }
  }

  async open(file: FileRef): Promise<Readable> {
    let info: Awaited<ReturnType<Telegram['getFile']>>;
    try {
      info = await this.options.telegram.getFile(file.fileId);
    } catch (error) {
      if (isFileTooBig(error)) throw new TelegramFileTooBigError(file.name, file.size, this.maxDownloadBytes);
      throw new TelegramDownloadError(`getFile failed: ${JSON.stringify(describeTelegramError(error))}`, { cause: error });
    }
    const expected = info.file_size ?? file.size;
    if (expected !== undefined && expected > this.maxDownloadBytes) {
      throw new TelegramFileTooBigError(file.name, expected, this.maxDownloadBytes);
    }
    if (!info.file_path) throw new TelegramDownloadError('getFile returned no file path');
    const limit = expected ?? this.maxDownloadBytes;
    const source = isAbsolute(info.file_path) ? createReadStream(info.file_path) : await this.download(info.file_path, limit);
    const overLimit = () =>
      expected === undefined ? new TelegramFileTooBigError(file.name, undefined, limit) : new TelegramDownloadError(`file is larger than the ${limit} bytes announced`);
    return pipeline(source, new ByteLimit(limit, expected, overLimit), () => undefined);
  }

  private async download(filePath: string, limit: number): Promise<Readable> {
    const root = this.options.apiRoot.replace(/\/+$/, '');
    const path = filePath.split('/').map(encodeURIComponent).join('/');
    let answer: Awaited<ReturnType<typeof request>>;
    try {
      answer = await request(`${root}/file/bot${this.options.token}/${path}`, { method: 'GET' });
    } catch (error) {
      // undici's messages carry no URL today; scrubbed anyway, because the URL holds the token.
      throw new TelegramDownloadError(`file download failed: ${scrubBotPath(error instanceof Error ? error.message : String(error))}`);
    }
    if (answer.statusCode !== 200) {
      await answer.body.dump().catch(() => undefined);
      throw new TelegramDownloadError(`file download answered HTTP ${answer.statusCode}`);
    }
    const length = Number(answer.headers['content-length']);
    if (Number.isFinite(length) && length > limit) {
      answer.body.destroy();
      throw new TelegramDownloadError(`file download announced ${length} bytes, more than the ${limit} expected`);
    }
    return answer.body;
  }
}

/** Passes bytes through, and fails (which stops the download) past `limit` or short of `expected`. */
class ByteLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly limit: number,
    private readonly expected: number | undefined,
    private readonly overLimit: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      callback(this.overLimit());
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: (error?: Error | null) => void): void {
    if (this.expected !== undefined && this.seen !== this.expected) {
      callback(new TelegramDownloadError(`file ended after ${this.seen} of ${this.expected} bytes`));
      return;
    }
    callback();
  }
}
