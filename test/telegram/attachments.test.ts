import { createHash, randomBytes } from 'node:crypto';
import { Telegram } from 'telegraf';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadLimitBytes, PUBLIC_DOWNLOAD_LIMIT_BYTES, TelegramFiles } from '../../adapters/telegram/attachments.js';
import { TelegramDownloadError, TelegramFileTooBigError } from '../../adapters/telegram/errors.js';
import type { FileRef } from '../../adapters/telegram/normalize.js';
import { telegrafApiRoot } from '../../adapters/telegram/telegram-outbox.js';
import { startFakeTelegram, type FakeFile, type FakeTelegram } from '../fakes/telegram/index.js';
import { waitFor } from '../helpers/wait-for.js';

const MB = 1024 * 1024;
let tg: FakeTelegram | undefined;
afterEach(async () => {
  await tg?.close();
  tg = undefined;
});

async function setup(maxDownloadBytes = PUBLIC_DOWNLOAD_LIMIT_BYTES) {
  tg = await startFakeTelegram();
  const files = new TelegramFiles({ telegram: new Telegram(tg.token, { apiRoot: telegrafApiRoot(tg.url) }), token: tg.token, apiRoot: tg.url, maxDownloadBytes });
  return { tg, files };
}

function ref(file: FakeFile, overrides: Partial<FileRef> = {}): FileRef {
  return { kind: 'video', fileId: file.file_id, uniqueId: file.file_unique_id, name: 'clip.mp4', mimeType: 'video/mp4', size: file.file_size, ...overrides };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('TelegramFiles', () => {
  it('when an attachment is opened, then getFile is asked and the bytes stream from /file/bot<token>/<path> unchanged', async () => {
    const { tg, files } = await setup();
    const bytes = randomBytes(300 * 1024);
    const file = tg.file({ bytes });
    const attachment = files.attachment(ref(file));
    expect(attachment.size).toBe(bytes.length);
    // Describing a file reads nothing.
    expect(tg.calls.filter((c) => c.method === 'getFile')).toHaveLength(0);
    const got = await readAll(await attachment.open());
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(tg.calls.filter((c) => c.method === 'getFile')).toHaveLength(1);
    expect(tg.downloads).toEqual([{ fileId: file.file_id, bytes: bytes.length, complete: true }]);
  });

  it('when a file is over the download limit, then it is known from the message alone and open() refuses before getFile', async () => {
    const { tg, files } = await setup();
    const big = tg.file({ size: 21 * MB });
    expect(files.tooBig(ref(big))).toBe(true);
    expect(files.tooBig(ref(tg.file({ size: 19 * MB })))).toBe(false);
    const error = await files.attachment(ref(big)).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelegramFileTooBigError);
    expect((error as TelegramFileTooBigError).code).toBe('telegram_file_too_big');
    expect(tg.downloads).toHaveLength(0);
  });

  it('when a message left the size out, then withSize asks getFile; over 20 MB the server says "file is too big" and that is reported', async () => {
    const { tg, files } = await setup();
    const small = tg.file({ size: 1234 });
    expect(await files.withSize(ref(small, { size: undefined }))).toMatchObject({ size: 1234 });
    const big = tg.file({ size: 25 * MB });
    const answer = await files.withSize(ref(big, { size: undefined }));
    expect(answer).toBeInstanceOf(TelegramFileTooBigError);
    expect(tg.downloads).toHaveLength(0);
  });

  it('when the server streams more bytes than it announced, then reading stops at the announced size with an error', async () => {
    const { tg, files } = await setup();
    // Far larger than the kernel's socket buffers (up to 32 MiB here), so a cut-off shows at the server.
    const file = tg.file({ bytes: Buffer.alloc(96 * MB, 7), reportedSize: 100 * 1024 });
    const stream = await files.attachment(ref(file)).open();
    const error = await readAll(stream).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelegramDownloadError);
    expect((error as Error).message).not.toContain(tg.token);
    await waitFor(() => tg?.downloads[0] !== undefined && !tg.downloads[0].complete && tg.downloads[0].bytes < 96 * MB, {
      message: 'the download cut off early',
    });
  });

  it('when the file is gone from the server, then open() fails with a token-free download error', async () => {
    const { files } = await setup();
    const error = (await files.attachment({ kind: 'photo', fileId: 'no-such-file', uniqueId: 'x', name: 'p.jpg', mimeType: 'image/jpeg', size: 10 }).open().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TelegramDownloadError);
    expect(error.message).toMatch(/invalid file_id/);
    expect(error.message).not.toContain(tg?.token ?? '');
  });

  it('when the Bot API is the public one, then the download limit is 20 MB; a self-hosted one with a raised upload limit has none', () => {
    expect(downloadLimitBytes({ apiRoot: 'https://api.telegram.org', maxUploadMb: 50 })).toBe(20 * MB);
    expect(downloadLimitBytes({ apiRoot: 'https://api.telegram.org/', maxUploadMb: 2000 })).toBe(20 * MB);
    expect(downloadLimitBytes({ apiRoot: 'http://tg-bot-api:8081', maxUploadMb: 50 })).toBe(20 * MB);
    expect(downloadLimitBytes({ apiRoot: 'http://tg-bot-api:8081', maxUploadMb: 2000 })).toBeGreaterThan(2000 * MB);
  });
});
