import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisNode } from '../../src/lib/redis-connection.js';
import { freePort } from './redis-server.js';
import { waitFor } from './wait-for.js';

/**
 * Real Redis topologies on loopback ports, from Debian's `redis-server` and `redis-sentinel`:
 * a master with a replica watched by three sentinels, and a three-master cluster with a replica
 * each. Timeouts are short (a node is "down" after 1 s) so a failover takes seconds.
 */
export interface RedisTopologyHandle {
  kind: 'sentinel' | 'cluster';
  /** `REDIS_URL` (standalone URL form; with sentinels or cluster nodes only its credentials count). */
  url: string;
  /** Environment that points the bot at this topology. */
  env: Record<string, string>;
  sentinels?: RedisNode[];
  clusterNodes?: RedisNode[];
  /** SIGKILLs the current master (on a cluster: the master of `key`'s slot, or the first); resolves with the killed port. */
  killMaster(key?: string): Promise<number>;
  /** Resolves once a master answers writes again (every slot covered, on a cluster). */
  waitForMaster(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const NODE_DOWN_MS = 1_000;
const START_TIMEOUT_MS = 30_000;

interface Proc {
  port: number;
  child: ChildProcess;
}

export async function startSentinelTopology(): Promise<RedisTopologyHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'nemo-sentinel-'));
  const procs: Proc[] = [];
  const name = 'mymaster';
  try {
    const master = await onFreshPorts(1, ([port]) => launchServer(['--port', String(port), ...common(dir, `m${port}`)], port!));
    procs.push(master);
    const masterPort = master.port;
    const replica = await onFreshPorts(1, ([port]) =>
      launchServer(['--port', String(port), ...common(dir, `r${port}`), '--replicaof', '127.0.0.1', String(masterPort)], port!),
    );
    procs.push(replica);
    const replicaPort = replica.port;
    await waitFor(async () => /master_link_status:up/.test(await info(replicaPort, 'replication')), { timeoutMs: START_TIMEOUT_MS, intervalMs: 50 });

    const sentinels: RedisNode[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await onFreshPorts(1, async ([port]) => {
        const conf = join(dir, `sentinel-${port}.conf`);
        await writeFile(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            'protected-mode no',
            `dir ${dir}`,
            `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
            `sentinel down-after-milliseconds ${name} ${NODE_DOWN_MS}`,
            `sentinel failover-timeout ${name} 10000`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        return launch('redis-sentinel', [conf], port!);
      });
      procs.push(sentinel);
      sentinels.push({ host: '127.0.0.1', port: sentinel.port });
    }
    // Each sentinel must know the replica and the two others, or a failover cannot be voted.
    for (const sentinel of sentinels) {
      await waitFor(
        async () => {
          const fields = await sentinelMaster(sentinel.port, name);
          return fields['num-other-sentinels'] === '2' && fields['num-slaves'] === '1';
        },
        { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
      );
    }

    const currentMaster = async (): Promise<number> => {
      for (const sentinel of sentinels) {
        const answer = await adminCall(sentinel.port, 'SENTINEL', 'get-master-addr-by-name', name).catch(() => undefined);
        if (Array.isArray(answer)) return Number(answer[1]);
      }
      throw new Error('no sentinel answers');
    };
    return {
      kind: 'sentinel',
      url: `redis://127.0.0.1:${masterPort}`,
      env: { REDIS_SENTINELS: sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_NAME: name },
      sentinels,
      async killMaster() {
        const port = await currentMaster();
        await kill(procs, port);
        return port;
      },
      async waitForMaster(timeoutMs = 60_000) {
        await waitFor(
          async () => {
            const port = await currentMaster();
            const role = await info(port, 'replication').catch(() => '');
            return /role:master/.test(role) && (await adminCall(port, 'SET', 'topology:probe', '1').catch(() => undefined)) === 'OK';
          },
          { timeoutMs, intervalMs: 100 },
        );
      },
      stop: () => stopAll(procs, dir),
    };
  } catch (error) {
    await stopAll(procs, dir);
    throw error;
  }
}

const CLUSTER_SLOTS = 16_384;

export async function startClusterTopology(): Promise<RedisTopologyHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'nemo-cluster-'));
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      procs.push(
        await onFreshPorts(2, ([port, busPort]) =>
          launchServer(
            [
              '--port', String(port),
              ...common(dir, `c${port}`),
              '--cluster-enabled', 'yes',
              '--cluster-port', String(busPort),
              '--cluster-config-file', join(dir, `nodes-${port}.conf`),
              '--cluster-node-timeout', String(NODE_DOWN_MS),
              // A loaded test machine may be slow to sync: a replica always stands for election.
              '--cluster-replica-validity-factor', '0',
            ],
            port!,
          ),
        ),
      );
    }
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...procs.map((p) => `127.0.0.1:${p.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: START_TIMEOUT_MS },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
    const clusterNodes = procs.map((p) => ({ host: '127.0.0.1', port: p.port }));
    const handle: RedisTopologyHandle = {
      kind: 'cluster',
      url: `redis://127.0.0.1:${procs[0]!.port}`,
      env: { REDIS_CLUSTER_NODES: clusterNodes.map((n) => `${n.host}:${n.port}`).join(',') },
      clusterNodes,
      async killMaster(key) {
        const masters = await clusterMasters(procs);
        const slot = key === undefined ? undefined : Number(await adminCall(masters[0]!.port, 'CLUSTER', 'KEYSLOT', key));
        const target = slot === undefined ? masters[0]! : masters.find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to))!;
        await kill(procs, target.port);
        return target.port;
      },
      async waitForMaster(timeoutMs = 60_000) {
        await waitFor(
          async () => {
            const live = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
            const states = await Promise.all(live.map((p) => info(p.port, 'cluster', 'CLUSTER').catch(() => '')));
            // Every slot served by a live master: a dead one is only "fail?" (and the cluster still
            // "ok") for a node timeout, so counting its slots as lost keeps this from passing early.
            const masters = await clusterMasters(procs);
            const servedSlots = masters
              .filter((m) => live.some((p) => p.port === m.port))
              .reduce((sum, m) => sum + m.slots.reduce((n, [from, to]) => n + to - from + 1, 0), 0);
            const served = servedSlots === CLUSTER_SLOTS;
            return served && states.every((state) => /cluster_state:ok/.test(state));
          },
          { timeoutMs, intervalMs: 100 },
        );
      },
      stop: () => stopAll(procs, dir),
    };
    // Every node must agree before the first client asks for the slots.
    await handle.waitForMaster(START_TIMEOUT_MS);
    await waitFor(async () => (await clusterMasters(procs)).every((m) => m.replicas > 0), { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 });
    // A replica that never synced cannot take over: wait for every link.
    await waitFor(
      async () => {
        const roles = await Promise.all(procs.map((p) => info(p.port, 'replication')));
        return roles.every((role) => /role:master/.test(role) || /master_link_status:up/.test(role));
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
    );
    return handle;
  } catch (error) {
    await stopAll(procs, dir);
    throw error;
  }
}

/** The slot of `key` as Redis computes it (CRC16 of the hash tag, or of the whole key). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  let hashed = key;
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}

function common(dir: string, name: string): string[] {
  return ['--bind', '127.0.0.1', '--protected-mode', 'no', '--dir', dir, '--dbfilename', `${name}.rdb`, '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
}

async function clusterMasters(procs: Proc[]): Promise<Array<{ port: number; slots: Array<[number, number]>; replicas: number }>> {
  const live = procs.find((p) => p.child.exitCode === null && p.child.signalCode === null);
  if (!live) throw new Error('no cluster node alive');
  const text = String(await adminCall(live.port, 'CLUSTER', 'NODES'));
  const lines = text.trim().split('\n').map((line) => line.split(' '));
  const masters = lines.filter((f) => f[2]!.includes('master') && !f[2]!.includes('fail'));
  return masters.map((f) => ({
    port: Number(f[1]!.split(':')[1]!.split('@')[0]),
    slots: f.slice(8).filter((s) => /^\d+(-\d+)?$/.test(s)).map((s) => {
      const [from, to] = s.split('-').map(Number);
      return [from!, to ?? from!] as [number, number];
    }),
    replicas: lines.filter((r) => r[3] === f[0] && !r[2]!.includes('fail')).length,
  }));
}

/**
 * Starts a process on ports from `freePort`, again on fresh ones when one was taken meanwhile
 * (another test's server may bind a port between our probe and the launch).
 */
async function onFreshPorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    try {
      return await start(ports);
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test((error as Error).message)) throw error;
    }
  }
}

async function launchServer(args: string[], port: number): Promise<Proc> {
  return launch('redis-server', args, port);
}

async function launch(binary: string, args: string[], port: number): Promise<Proc> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const spawnFailed = once(child, 'error').then(([error]) => {
    throw new Error(`${binary} could not start (${(error as Error).message}); install it (apt-get install redis-server redis-sentinel)`);
  });
  spawnFailed.catch(() => undefined);
  // A server that could not bind its port exits at once: no point waiting for its PONG.
  const exited = once(child, 'exit').then(() => {
    throw new Error('it exited');
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([
      waitFor(async () => (await adminCall(port, 'PING').catch(() => undefined)) === 'PONG', { timeoutMs: START_TIMEOUT_MS, intervalMs: 20 }),
      spawnFailed,
      exited,
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${binary} on port ${port} did not start: ${(error as Error).message} ${output.trim()}`);
  }
  return { port, child };
}

async function kill(procs: Proc[], port: number): Promise<void> {
  const proc = procs.find((p) => p.port === port);
  if (!proc) throw new Error(`no process of ours on port ${port}`);
  const exited = once(proc.child, 'exit');
  proc.child.kill('SIGKILL');
  await exited;
}

async function stopAll(procs: Proc[], dir: string): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const exited = once(p.child, 'exit');
      p.child.kill('SIGKILL');
      await exited;
    }),
  );
  await rm(dir, { recursive: true, force: true });
}

async function info(port: number, section: string, command = 'INFO'): Promise<string> {
  return String(await (command === 'INFO' ? adminCall(port, 'INFO', section) : adminCall(port, 'CLUSTER', 'INFO')));
}

async function sentinelMaster(port: number, name: string): Promise<Record<string, string>> {
  const flat = (await adminCall(port, 'SENTINEL', 'MASTER', name).catch(() => [])) as string[];
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

/** One command on a short-lived connection that never retries (admin questions of the helpers). */
async function adminCall(port: number, command: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}
