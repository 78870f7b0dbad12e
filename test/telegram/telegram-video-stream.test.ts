import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import type { ChatAddress } from '../../src/core/types.js';
import { startFakeTelegram } from '../fakes/telegram/index.js';
import { TEST_PACING } from './telegram-harness.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A 127.0.0.1 proxy in front of the fake Bot API that takes sendVideo bytes slowly and counts
 * them: what "the server received" means for the read-ahead bound.
 */
async function startSlowProxy(target: string): Promise<{ url: string; received: () => number }> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers: req.headers });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    const counted = (req.url ?? '').endsWith('/sendVideo');
    void (async () => {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (counted) received += chunk.length;
        if (!upstream.write(chunk)) await once(upstream, 'drain');
        // Slow, so an eager reader of the source would run far ahead.
        if (counted) await sleep(1);
      }
      upstream.end();
    })().catch(() => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close').catch(() => undefined);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received: () => received };
}

describe('TelegramOutbox, large videos', () => {
  it('when a 32 MiB video is sent through a slow link, then it arrives intact and the source is never read more than 12 MiB ahead of what the server took', async () => {
    const tg = await startFakeTelegram();
    cleanups.push(() => tg.close());
    const proxy = await startSlowProxy(tg.url);
    const outbox = new TelegramOutbox({ token: tg.token, apiRoot: proxy.url, maxUploadBytes: 50 * MiB, logger: pino({ level: 'silent' }), pacing: TEST_PACING });
    cleanups.push(async () => outbox.close());
    const user = tg.user();
    const to: ChatAddress = { platform: 'telegram', chatId: String(tg.privateChat(user).id), userId: String(user.id) };

    const SIZE = 32 * MiB;
    const CHUNK = 64 * 1024;
    const produced = createHash('sha256');
    let producedBytes = 0;
    let maxAhead = 0;
    // Generated chunk by chunk and hashed on the way: the test never holds the video either.
    function* video(): Generator<Buffer> {
      for (let index = 0; index < SIZE / CHUNK; index += 1) {
        const chunk = Buffer.alloc(CHUNK, index % 251);
        chunk.writeUInt32BE(index, 0);
        produced.update(chunk);
        producedBytes += chunk.length;
        maxAhead = Math.max(maxAhead, producedBytes - proxy.received());
        yield chunk;
      }
    }

    await outbox.sendVideo(to, { filename: 'big.mp4', size: SIZE, stream: Readable.from(video()), caption: 'Video ready.', deliveryId: 'render_big' });

    expect(tg.sent).toHaveLength(1);
    expect(tg.sent[0]?.file?.size).toBe(SIZE);
    expect(tg.sent[0]?.file?.sha256).toBe(produced.digest('hex'));
    // In between sit the two sockets' kernel buffers (Linux lets a send buffer grow to 4 MiB) and a few
    // stream buffers; telegraf's eager multipart measured the whole 32 MiB ahead here.
    expect(maxAhead).toBeLessThanOrEqual(12 * MiB);
  }, 60_000);
});
