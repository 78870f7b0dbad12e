import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface ReplyCutter {
  /** Point clients here instead of at Redis. */
  url: string;
  /**
   * The next command any client sends reaches Redis and runs, but its answer never comes back:
   * the connection is cut instead, as a Redis restart cuts it. With `matching`, the next
   * command whose bytes contain it. Resolves once that happened.
   */
  cutNextReply(matching?: string): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy in front of Redis that can lose one answer: how a client's resend is tested. */
export async function startReplyCutter(redisUrl: string): Promise<ReplyCutter> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let armed: { matching: string | undefined; done: () => void } | undefined;

  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let cutting: (() => void) | undefined;
    client.on('data', (chunk) => {
      if (armed && !cutting && (armed.matching === undefined || chunk.includes(armed.matching))) {
        cutting = armed.done;
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!cutting) {
        client.write(chunk);
        return;
      }
      // The command ran: its answer is dropped with the connection.
      const done = cutting;
      client.destroy();
      upstream.destroy();
      done();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');

  return {
    url: `redis://127.0.0.1:${address.port}`,
    cutNextReply: (matching) =>
      new Promise<void>((resolve) => {
        armed = { matching, done: resolve };
      }),
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
