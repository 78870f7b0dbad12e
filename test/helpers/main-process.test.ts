import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { spawnMain, type MainProcess } from './main-process.js';
import { testRedis } from './redis.js';

let nemo: FakeNemo | undefined;
let main: MainProcess | undefined;
let dir: string | undefined;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await main?.kill();
  await nemo?.close();
  for (const close of closers.splice(0)) await close();
  if (dir) await rm(dir, { recursive: true, force: true });
  main = nemo = dir = undefined;
});

describe('main-process harness', () => {
  it('when the port picked for a process is taken before it binds, then it is started again on another port and gets ready', async () => {
    nemo = await startFakeNemo();
    dir = await mkdtemp(join(tmpdir(), 'nvb-harness-'));
    // Another process's socket holds the port, as an outgoing connection's local port can.
    const holder = createServer((socket) => socket.destroy());
    holder.listen(0);
    await once(holder, 'listening');
    closers.push(async () => {
      holder.close();
      await once(holder, 'close');
    });
    const taken = (holder.address() as { port: number }).port;
    const redis = testRedis();

    main = spawnMain({
      name: 'worker',
      mode: 'worker',
      port: taken,
      cwd: dir,
      env: { NEMO_API_URL: nemo.url, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix.replace(/:$/, ''), LOG_LEVEL: 'info' },
    });
    await main.ready(30_000);

    expect(main.port).not.toBe(taken);
    expect(main.output()).toMatch(new RegExp(`Port ${taken} is already in use \\(HTTP_PORT\\)`));
    expect(main.output()).toContain(`[test] worker: port ${taken} was taken; starting again on another`);
    expect(await main.metrics()).toMatch(/nvb_render_queue_depth\{role="worker"\}/);
  }, 60_000);
});
