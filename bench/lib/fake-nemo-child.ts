/**
 * Entry of the fake NemoVideo's own process (see fake-nemo-process.ts). It lives until the
 * parent asks it to close or goes away, so it never outlives a killed benchmark.
 */
import { startFakeNemo, type FakeNemoOptions } from '../../test/fakes/nemo/index.js';
import type { FakeNemoReply, FakeNemoRequest } from './fake-nemo-process.js';

function reply(message: FakeNemoReply): void {
  process.send?.(message);
}

const options = JSON.parse(process.argv[2] ?? '{}') as FakeNemoOptions;
const fake = await startFakeNemo(options);

let closing: Promise<void> | undefined;
const close = (): Promise<void> => (closing ??= fake.close());

process.on('message', (request: FakeNemoRequest) => {
  switch (request.type) {
    case 'stats': {
      const renderPolls = [...fake.renderPolls.values()].reduce((sum, polls) => sum + polls, 0);
      reply({ type: 'stats', renders: fake.renders.size, renderPolls, violations: [...fake.violations] });
      return;
    }
    case 'close':
      void close().then(() => process.disconnect());
      return;
  }
});
// The IPC channel closes when the parent exits or after our own disconnect: time to go.
process.on('disconnect', () => void close().then(() => process.exit(0)));
reply({ type: 'ready', url: fake.url });
