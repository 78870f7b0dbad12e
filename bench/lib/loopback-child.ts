/** A bare HTTP server in a process of its own (see `pacedRoundTrips` in one-post.ts). */
import { serveParent } from './child-process.js';
import { startBareServer } from './bare-server.js';

const { server, port } = await startBareServer(JSON.stringify({ ok: true, result: true }));

const parent = serveParent<{ type: 'close' }, { type: 'ready'; port: number }>(
  () => Promise.resolve(undefined),
  async () => {
    server.closeAllConnections();
    server.close();
  },
);
parent.reply({ type: 'ready', port });
