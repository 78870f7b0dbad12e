/** Entry of the render worker's own process; see worker-process.ts. */
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { serveParent } from './child-process.js';
import { CountingOutbox } from './counting-outbox.js';
import { LogSink } from './log-sink.js';
import { settledHeap } from './memory.js';
import type { WorkerReply, WorkerRequest, WorkerSettings } from './worker-process.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerSettings;
const config = loadConfig({
  NEMO_API_URL: settings.nemoApiUrl,
  REDIS_URL: settings.redisUrl,
  NEMO_TOKEN: settings.nemoToken,
  RENDER_POLL_INTERVAL_MS: String(settings.pollIntervalMs),
  // Engine.stop leaves its shutdown-deadline timer running even when no turn is open.
  SHUTDOWN_TIMEOUT_MS: '1000',
});
// The worker exactly as `npm start` wires it; the engine it also builds stays idle.
const app = createApp({
  config,
  redisUrl: settings.redisUrl,
  // Logs are made at `info` as in production, then dropped: their objects count, no I/O.
  logger: new LogSink().logger,
  outboxes: { [settings.platform]: new CountingOutbox(settings.platform) },
  worker: true,
  prefix: settings.prefix,
  // Renders must sit delayed, unpolled, for the whole run: no early first poll either.
  renderFirstPollMs: settings.pollIntervalMs,
});

const parent = serveParent<WorkerRequest, WorkerReply>(
  async (request) => {
    switch (request.type) {
      case 'heap':
        return { type: 'heap', reading: await settledHeap() };
      case 'close':
        return undefined;
    }
  },
  () => app.close(),
);
parent.reply({ type: 'ready' });
