/** Entry of the fake NemoVideo's own process; see fake-nemo-process.ts. */
import { startFakeNemo, type FakeNemoOptions } from '../../test/fakes/nemo/index.js';
import { serveParent } from './child-process.js';
import type { FakeNemoReply, FakeNemoRequest } from './fake-nemo-process.js';

const options = JSON.parse(process.argv[2] ?? '{}') as FakeNemoOptions;
const fake = await startFakeNemo(options);

const parent = serveParent<FakeNemoRequest, FakeNemoReply>(
  async (request) => {
    switch (request.type) {
      case 'stats': {
        const renderPolls = [...fake.renderPolls.values()].reduce((sum, polls) => sum + polls, 0);
        return { type: 'stats', renders: fake.renders.size, renderPolls, turnsStarted: fake.sseCalls.length, violations: [...fake.violations] };
      }
      case 'scriptRender':
        fake.scriptRender(request.script);
        return { type: 'scripted' };
      case 'scriptTurns':
        for (const script of request.scripts) fake.scriptTurn(script);
        return { type: 'scripted' };
      case 'close':
        return undefined;
    }
  },
  () => fake.close(),
);
parent.reply({ type: 'ready', url: fake.url });
