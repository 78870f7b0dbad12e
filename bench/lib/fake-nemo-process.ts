import type { FakeNemoOptions, RenderScript, TurnScript } from '../../test/fakes/nemo/index.js';
import { startChild } from './child-process.js';

export type FakeNemoRequest =
  | { type: 'stats' }
  /** The next render submitted plays this script (plain data: sizes and poll counts). */
  | { type: 'scriptRender'; script: RenderScript }
  /** Queued turn scripts; only plain-data frames (no `wait` promise, no draft functions). */
  | { type: 'scriptTurns'; scripts: TurnScript[] }
  | { type: 'close' };

export type FakeNemoReply = { type: 'ready'; url: string } | ({ type: 'stats' } & FakeNemoStats) | { type: 'scripted' };

export interface FakeNemoStats {
  renders: number;
  renderPolls: number;
  /** `/run_sse` calls received so far: turns started. */
  turnsStarted: number;
  violations: string[];
}

/** The fake NemoVideo in a child process: its records of every call stay out of the measured heap. */
export interface FakeNemoProcess {
  url: string;
  stats(): Promise<FakeNemoStats>;
  scriptRender(script: RenderScript): Promise<void>;
  scriptTurns(scripts: TurnScript[]): Promise<void>;
  close(): Promise<void>;
}

/** Options go as JSON, so only plain-data options (no function-valued drafts) can be used. */
export async function startFakeNemoProcess(options: FakeNemoOptions): Promise<FakeNemoProcess> {
  const { child, ready } = await startChild<FakeNemoRequest, FakeNemoReply>(new URL('./fake-nemo-child.ts', import.meta.url), options);
  return {
    url: ready.url,
    async stats() {
      const { renders, renderPolls, turnsStarted, violations } = await child.ask({ type: 'stats' }, 'stats');
      return { renders, renderPolls, turnsStarted, violations };
    },
    async scriptRender(script) {
      await child.ask({ type: 'scriptRender', script }, 'scripted');
    },
    async scriptTurns(scripts) {
      await child.ask({ type: 'scriptTurns', scripts }, 'scripted');
    },
    close: () => child.stop({ type: 'close' }),
  };
}
