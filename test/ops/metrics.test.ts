import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/ops/metrics.js';

describe('createMetrics', () => {
  it('when two processes-worth of metrics are created, then each has its own registry and no name clashes', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.turns.inc({ outcome: 'answered' });

    expect(a.registry).not.toBe(b.registry);
    expect(await a.registry.getSingleMetricAsString('nvb_turns_total')).toContain('nvb_turns_total{outcome="answered"} 1');
    expect(await b.registry.getSingleMetricAsString('nvb_turns_total')).not.toContain('outcome="answered"');
  });

  it('when every handle records once, then the text format carries each series with its label', async () => {
    const metrics = createMetrics({ defaultMetrics: false, defaultLabels: { role: 'worker' } });
    metrics.turns.inc({ outcome: 'failed' });
    metrics.turnDuration.observe({ outcome: 'answered' }, 42);
    metrics.keepAliveWaits.inc();
    metrics.renders.inc({ state: 'delivered' });
    metrics.deliveries.inc({ kind: 'link' });
    metrics.nemoErrors.inc({ code: 'nemo_network_error' });
    metrics.platform429.inc({ platform: 'telegram' });

    const text = await metrics.registry.metrics();
    expect(text).toContain('nvb_turns_total{outcome="failed",role="worker"} 1');
    expect(text).toContain('nvb_turn_duration_seconds_bucket{le="60",role="worker",outcome="answered"} 1');
    expect(text).toContain('nvb_turn_duration_seconds_bucket{le="30",role="worker",outcome="answered"} 0');
    expect(text).toContain('nvb_keepalive_waits_total{role="worker"} 1');
    expect(text).toContain('nvb_renders_total{state="delivered",role="worker"} 1');
    expect(text).toContain('nvb_deliveries_total{kind="link",role="worker"} 1');
    expect(text).toContain('nvb_nemo_errors_total{code="nemo_network_error",role="worker"} 1');
    expect(text).toContain('nvb_platform_429_total{platform="telegram",role="worker"} 1');
  });

  it('when scraped, then the queue depth is read from the callback each time', async () => {
    let depth = 3;
    const metrics = createMetrics({ defaultMetrics: false, collectQueueDepth: () => Promise.resolve(depth) });
    expect(await metrics.registry.getSingleMetricAsString('nvb_render_queue_depth')).toContain('nvb_render_queue_depth 3');
    depth = 11;
    expect(await metrics.registry.getSingleMetricAsString('nvb_render_queue_depth')).toContain('nvb_render_queue_depth 11');
  });

  it('when the queue depth cannot be read or hangs, then the scrape still answers with NaN', async () => {
    const failing = createMetrics({ defaultMetrics: false, collectQueueDepth: () => Promise.reject(new Error('redis away')) });
    const hanging = createMetrics({ defaultMetrics: false, collectQueueDepth: () => new Promise<number>(() => undefined), collectTimeoutMs: 50 });
    // prom-client writes "Nan"; Prometheus parses NaN in any case.
    expect(await failing.registry.metrics()).toMatch(/^nvb_render_queue_depth nan$/im);
    expect(await hanging.registry.metrics()).toMatch(/^nvb_render_queue_depth nan$/im);
  });

  it('when default metrics are on, then event-loop lag and process metrics are exported', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(text).toContain('process_resident_memory_bytes');
  });
});
