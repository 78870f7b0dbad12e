import type { FakeNemoOptions } from '../../test/fakes/nemo/index.js';
import { startChild } from './child-process.js';

export type FakeNemoRequest = { type: 'stats' } | { type: 'close' };

export type FakeNemoReply = { type: 'ready'; url: string } | ({ type: 'stats' } & FakeNemoStats);

export interface FakeNemoStats {
  renders: number;
  renderPolls: number;
  violations: string[];
}

/** The fake NemoVideo in a child process: its records of every call stay out of the measured heap. */
export interface FakeNemoProcess {
  url: string;
  stats(): Promise<FakeNemoStats>;
  close(): Promise<void>;
}

/** Options go as JSON, so only plain-data options (no function-valued drafts) can be used. */
export async function startFakeNemoProcess(options: FakeNemoOptions): Promise<FakeNemoProcess> {
  const { child, ready } = await startChild<FakeNemoRequest, FakeNemoReply>(new URL('./fake-nemo-child.ts', import.meta.url), options);
  return {
    url: ready.url,
    async stats() {
      const { renders, renderPolls, violations } = await child.ask({ type: 'stats' }, 'stats');
      return { renders, renderPolls, violations };
    },
    close: () => child.stop({ type: 'close' }),
  };
}
