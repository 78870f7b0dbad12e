/** A bare HTTP server in a process of its own (see `pacedRoundTrips` in one-post.ts). */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from './child-process.js';

const BODY = JSON.stringify({ ok: true, result: true });
const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(BODY)) });
    res.end(BODY);
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');

const parent = serveParent<{ type: 'close' }, { type: 'ready'; port: number }>(
  () => Promise.resolve(undefined),
  async () => {
    server.closeAllConnections();
    server.close();
  },
);
parent.reply({ type: 'ready', port: (server.address() as AddressInfo).port });
