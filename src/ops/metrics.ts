import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { withTimeout } from './with-timeout.js';

export interface MetricsOptions {
  /** Jobs waiting in the render queue, read at each scrape; the gauge is NaN when it fails. */
  collectQueueDepth?: () => Promise<number>;
  /** A scrape waits this long for the queue depth (Redis may be away); default 2000 ms. */
  collectTimeoutMs?: number;
  /** Process, heap, GC and event-loop lag metrics; default true. */
  defaultMetrics?: boolean;
  /** Labels on every series, e.g. `{ role: 'worker' }`. */
  defaultLabels?: Record<string, string>;
}

/** The process's metrics: one registry, passed to whoever records or serves them. */
export interface Metrics {
  readonly registry: Registry;
  /** Chat turns by outcome (`answered`, `recovered`, `failed`, …). */
  readonly turns: Counter<'outcome'>;
  readonly turnDuration: Histogram<'outcome'>;
  /** Keep-alive-only waits that produced a "Still working…" notice. */
  readonly keepAliveWaits: Counter;
  /** Render jobs by state reached (`submitted`, `delivered`, `failed`, …). */
  readonly renders: Counter<'state'>;
  /** Finished videos delivered, as a `file` or as a `link`. */
  readonly deliveries: Counter<'kind'>;
  /** NemoVideo errors by the error's `code`. */
  readonly nemoErrors: Counter<'code'>;
  /** 429 answers from a chat platform's API. */
  readonly platform429: Counter<'platform'>;
  /** Webhook posts refused before they were handled, by reason (`secret`, `too_large`, `malformed`). */
  readonly webhookRefused: Counter<'platform' | 'reason'>;
  /** Gateway connections closed, by platform and close code (Discord: 4000–4014, 1006 when refused). */
  readonly gatewayCloses: Counter<'platform' | 'code'>;
  /** 1 while the platform's gateway connection is up, 0 while it is down or reconnecting. */
  readonly platformConnected: Gauge<'platform'>;
  readonly queueDepth: Gauge;
}

export type DeliveryKind = 'file' | 'link';

const PREFIX = 'nvb_';
// Turns last from seconds (an edit) to many minutes (a generation).
const TURN_BUCKETS_SECONDS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];

/** A fresh registry with the bot's metrics; nothing is registered globally. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const collectQueueDepth = options.collectQueueDepth;
  const collectTimeoutMs = options.collectTimeoutMs ?? 2000;

  return {
    registry,
    turns: new Counter({ name: `${PREFIX}turns_total`, help: 'Chat turns relayed to NemoVideo, by outcome', labelNames: ['outcome'], registers }),
    turnDuration: new Histogram({
      name: `${PREFIX}turn_duration_seconds`,
      help: 'Duration of chat turns, from the message to the last event',
      labelNames: ['outcome'],
      buckets: TURN_BUCKETS_SECONDS,
      registers,
    }),
    keepAliveWaits: new Counter({ name: `${PREFIX}keepalive_waits_total`, help: 'Turns that went silent (keep-alives only) long enough for a notice', registers }),
    renders: new Counter({ name: `${PREFIX}renders_total`, help: 'Render jobs by state reached', labelNames: ['state'], registers }),
    deliveries: new Counter({ name: `${PREFIX}deliveries_total`, help: 'Finished videos delivered, by kind (file or link)', labelNames: ['kind'], registers }),
    nemoErrors: new Counter({ name: `${PREFIX}nemo_errors_total`, help: 'Errors from NemoVideo calls, by error code', labelNames: ['code'], registers }),
    platform429: new Counter({ name: `${PREFIX}platform_429_total`, help: '429 (rate limited) answers from chat platform APIs', labelNames: ['platform'], registers }),
    webhookRefused: new Counter({
      name: `${PREFIX}webhook_refused_total`,
      help: 'Webhook posts refused before they were handled, by platform and reason (secret, too_large, malformed)',
      labelNames: ['platform', 'reason'],
      registers,
    }),
    gatewayCloses: new Counter({ name: `${PREFIX}gateway_closes_total`, help: 'Gateway connections closed, by platform and close code', labelNames: ['platform', 'code'], registers }),
    platformConnected: new Gauge({ name: `${PREFIX}platform_connected`, help: "1 while the platform's gateway connection is up", labelNames: ['platform'], registers }),
    queueDepth: new Gauge({
      name: `${PREFIX}render_queue_depth`,
      help: 'Render jobs waiting or delayed in the queue',
      registers,
      async collect() {
        if (collectQueueDepth === undefined) return;
        try {
          this.set(await withTimeout(collectQueueDepth(), collectTimeoutMs, 'render queue depth'));
        } catch {
          // A scrape must not fail or hang because Redis is away; NaN says "unknown".
          this.set(Number.NaN);
        }
      },
    }),
  };
}
