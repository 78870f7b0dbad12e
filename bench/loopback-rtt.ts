import { Agent, request } from 'undici';
import { startBareServer } from './lib/bare-server.js';
import type { BenchPlan } from './lib/plan.js';
import type { BenchResult, Figure } from './lib/report.js';
import { summarize, timeSequential, type Summary } from './lib/stats.js';

export const BENCHMARK = 'loopback HTTP';

// About the size of a small NemoVideo envelope (the credits answer).
const BODY = JSON.stringify({ code: 0, message: 'success', data: { available: 100, frozen: 0, total: 100 } });

export interface LoopbackResult extends BenchResult {
  rtt: Summary;
}

/**
 * The floor of every engine figure: one HTTP request and its small JSON answer over
 * 127.0.0.1, with the same client the product uses (undici, one keep-alive Agent) and the
 * server in this process, as the fake NemoVideo is. Nothing in the engine can beat it.
 */
export async function benchLoopback(plan: BenchPlan): Promise<LoopbackResult> {
  const started = Date.now();
  const { server, port } = await startBareServer(BODY);
  const url = `http://127.0.0.1:${port}/api/credits/balance/simple`;
  const agent = new Agent();

  const roundTrip = async (): Promise<void> => {
    const answer = await request(url, { dispatcher: agent, method: 'GET', headers: { accept: 'application/json' } });
    JSON.parse(await answer.body.text());
  };

  try {
    for (let i = 0; i < plan.loopback.warmup; i++) await roundTrip();
    const rtt = summarize(await timeSequential(plan.loopback.loop, roundTrip));
    const figures: Figure[] = [
      { benchmark: BENCHMARK, name: 'round trip p50', value: rtt.p50, unit: 'µs' },
      { benchmark: BENCHMARK, name: 'round trip p99', value: rtt.p99, unit: 'µs' },
    ];
    return { benchmark: BENCHMARK, figures, details: { rtt }, notes: [], durationMs: Date.now() - started, rtt };
  } finally {
    await agent.close();
    server.closeAllConnections();
    server.close();
  }
}
