import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, closeRedis } from '../../src/lib/redis-connection.js';
import { scanKeys } from '../helpers/scan-keys.js';
import { checkRedisReachable } from '../../src/ops/redis-reachable.js';
import { Inbox } from '../../src/core/inbox.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { TurnGate } from '../../src/core/turn-gate.js';
import { TurnJournal } from '../../src/core/turn-journal.js';
import { adkTurn } from '../fakes/nemo/index.js';
import type { FakeFile } from '../fakes/telegram/index.js';
import { keySlot, startClusterTopology, startSentinelTopology, type RedisTopologyHandle } from '../helpers/redis-topologies.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig } from '../telegram/telegram-harness.js';

/** Every `eval(SCRIPT, n, …)` with n > 1 in the bot's code: the scripts whose keys must share a slot. */
const SOURCES = [
  'src/core/inbox.ts',
  'src/core/turn-gate.ts',
  'src/core/turn-journal.ts',
  'src/core/session-store.ts',
  'src/core/export-slot.ts',
  'src/core/daily-quota.ts',
  'src/core/flood-control.ts',
  'adapters/telegram/album-collector.ts',
];

/** Each multi-key script's comment block (from `-- KEYS[1]` on), by the constant it is written in. */
function multiKeyScripts(): Map<string, string> {
  const scripts = new Map<string, string>();
  for (const file of SOURCES) {
    const text = readFileSync(file, 'utf8');
    for (const call of text.matchAll(/\.eval\(\s*([A-Z_]+),\s*(\d+)/g)) {
      if (Number(call[2]) < 2) continue;
      const name = call[1]!;
      const body = new RegExp(`const ${name} = \`[^]*?(-- KEYS\\[1\\][^\\n]*(?:\\n--[^\\n]*)*)`).exec(text)?.[1];
      if (body === undefined) throw new Error(`${file}: script ${name} names no KEYS[1] line`);
      scripts.set(`${file}:${name}`, body);
    }
  }
  return scripts;
}

it('the list of multi-key scripts is complete: every file with a redis eval is read', async () => {
  const { execFileSync } = await import('node:child_process');
  const files = execFileSync('grep', ['-rlE', '\\.eval\\(', 'src', 'adapters'], { encoding: 'utf8' }).trim().split('\n').sort();
  expect(files.filter((file) => !SOURCES.includes(file) && file !== 'src/lib/lua/script.ts')).toEqual([]);
  // ADMIT, ENTER, NEXT, CLEAR, BEGIN and the album's TAKE.
  expect(multiKeyScripts().size).toBeGreaterThanOrEqual(6);
});

describe.each([
  ['Sentinel (master, replica, three sentinels)', startSentinelTopology],
  ['Cluster (three masters with a replica each)', startClusterTopology],
] as const)('the core flows on Redis %s', (_, start) => {
  let topology: RedisTopologyHandle;
  beforeAll(async () => {
    topology = await start();
  }, 120_000);
  afterAll(async () => {
    await topology?.stop();
  });

  it('when the start checks the topology, then it answers; when nothing answers, the error names the setting and the nodes, never the password', async () => {
    const nodes = topology.kind === 'cluster' ? { clusterNodes: topology.clusterNodes } : { sentinels: topology.sentinels, sentinelName: 'mymaster' };
    await checkRedisReachable({ url: topology.url, ...nodes }, 5_000);
    const setting = topology.kind === 'cluster' ? 'REDIS_CLUSTER_NODES' : 'REDIS_SENTINELS';
    const dead = topology.kind === 'cluster' ? { clusterNodes: [{ host: '127.0.0.1', port: 1 }] } : { sentinels: [{ host: '127.0.0.1', port: 1 }] };
    const failure = await checkRedisReachable({ url: 'redis://:hunter2-secret@127.0.0.1:6379', ...dead }, 1_000).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.message).toMatch(new RegExp(`^${setting} \\(127\\.0\\.0\\.1:1\\) does not answer`));
    expect(failure?.message).not.toContain('hunter2');
  });

  it('when keys of many people are written, then a sweep (SCAN) finds every one, on every master', async () => {
    const nodes = topology.kind === 'cluster' ? { clusterNodes: topology.clusterNodes } : { sentinels: topology.sentinels, sentinelName: 'mymaster' };
    const redis = connectRedis({ url: topology.url, ...nodes }, { role: 'commands' });
    try {
      const written = Array.from({ length: 200 }, (_, i) => `scan-test:{b${i % 128}}:${i}`);
      for (const key of written) await redis.set(key, '1', 'EX', 60);
      const found: string[] = [];
      for await (const batch of scanKeys(redis, 'scan-test:*', 50)) found.push(...batch);
      expect(found.sort()).toEqual([...written].sort());
    } finally {
      await closeRedis(redis);
    }
  });

  it('when a turn is cut, a turn waits behind a dead holder and a dead process left a message, then the sweeps find each through the indexes, on every master', async () => {
    const nodes = topology.kind === 'cluster' ? { clusterNodes: topology.clusterNodes } : { sentinels: topology.sentinels, sentinelName: 'mymaster' };
    const redis = connectRedis({ url: topology.url, ...nodes }, { role: 'commands' });
    const keys = createRedisKeys(`sweeps-${topology.kind}`, { hashTags: topology.kind === 'cluster' });
    try {
      const people = Array.from({ length: 6 }, (_, i) => ({ platform: 'telegram' as const, chatId: String(7000 + i * 131), userId: String(7000 + i * 131) }));
      const journal = new TurnJournal(redis, keys, { lockTtlMs: 30_000 });
      const gate = new TurnGate(redis, keys, { lockTtlMs: 30_000 });
      for (const [i, key] of people.entries()) {
        const address = { platform: 'telegram' as const, chatId: key.chatId, userId: key.userId };
        const entered = await gate.enter(key, { text: 'first', language: 'en', address, receivedAt: Date.now() });
        if (!entered.acquired) throw new Error('expected the lock');
        if (i % 2 === 0) await journal.begin({ key, address, language: 'en', sessionId: `cut-${i}`, startedAt: Date.now() });
        else await gate.enter(key, { text: `waiting-${i}`, language: 'en', address, receivedAt: Date.now() });
        // The holder dies: its lock goes.
        await redis.del(keys.turnLock(key));
      }
      const dead = new Inbox(redis, keys);
      const entryId = dead.entryId('telegram:99', 'telegram', people[0]!.userId);
      expect(await dead.admit(keys.telegramUpdate(1, 99), 60, { id: entryId, payload: { text: 'left behind' } })).toBe(true);
      await redis.del(keys.alive(dead.ownerId));

      const recovered = await journal.claimInterrupted(Infinity);
      expect(recovered.map((claim) => claim.turn.sessionId).sort()).toEqual(['cut-0', 'cut-2', 'cut-4']);
      const waiting = await gate.claimWaiting(Infinity);
      expect(waiting.map((turn) => turn.text).sort()).toEqual(['waiting-1', 'waiting-3', 'waiting-5']);
      const taker = new Inbox(redis, keys);
      await taker.start();
      expect(await taker.claimOrphans('telegram:')).toEqual([{ id: entryId, payload: { text: 'left behind' } }]);
      taker.stop();
    } finally {
      await closeRedis(redis);
    }
  });

  it('when people chat, queue follow-ups, send an album, start over and export, then every answer and the video arrive once; on a cluster every multi-key script ran with its keys in one slot', async () => {
    // On a cluster, every command every master receives is watched: EVALs carry their keys.
    const monitors: Redis[] = [];
    const evals: Array<{ script: string; keys: string[] }> = [];
    if (topology.kind === 'cluster') {
      for (const node of topology.clusterNodes ?? []) {
        const client = new Redis({ host: node.host, port: node.port, lazyConnect: true });
        client.on('error', () => undefined);
        const monitor = await client.monitor();
        monitor.on('monitor', (_time: string, args: string[]) => {
          if (args[0]?.toLowerCase() === 'eval') evals.push({ script: args[1] ?? '', keys: args.slice(3, 3 + Number(args[2])) });
        });
        monitors.push(monitor, client);
      }
    }

    const rig = await startTelegramRig({ redisUrl: topology.url, env: topology.env });
    try {
      const { tg, nemo } = rig;
      const alice = tg.user();
      const chat = tg.privateChat(alice);
      tg.say(chat, alice, { text: '/start' });
      await rig.waitSent(chat.id, /^Hi! I make and edit videos/, { timeoutMs: 30_000 });

      // A chat turn held by the agent; two follow-ups wait in the session's queue meanwhile.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      nemo.scriptTurn({ frames: [{ kind: 'wait', until: held }, { kind: 'event', event: adkTurn().text('First answer.') }] });
      tg.say(chat, alice, { text: 'plan a video' });
      await rig.waitSent(chat.id, /Working on it/, { timeoutMs: 30_000 });
      const before = tg.sent.length;
      tg.say(chat, alice, { text: 'follow-up one' });
      await rig.waitSent(chat.id, /queued|as soon as the current step finishes/i, { from: before, timeoutMs: 30_000 });
      tg.say(chat, alice, { text: 'Generate a video of a city timelapse' });
      await waitFor(() => nemo.sseCalls.length === 1 && tg.sent.slice(before).filter((m) => /queued|as soon as the current step finishes/i.test(m.text ?? '')).length === 2, {
        timeoutMs: 30_000,
        message: 'both follow-ups queued',
      });
      release();
      await waitFor(() => nemo.sseCalls.length === 3, { timeoutMs: 30_000, message: 'the queued turns' });
      expect(nemo.sseCalls.map((c) => c.text)).toEqual(['plan a video', 'follow-up one', 'Generate a video of a city timelapse']);
      await rig.waitSent(chat.id, /First answer\./);
      await rig.waitSent(chat.id, /Keep them, or say/, { timeoutMs: 30_000 });

      // Another person sends an album: its parts meet in Redis, then move into the inbox.
      const bob = tg.user();
      const bobChat = tg.privateChat(bob);
      const files = [tg.file({ bytes: Buffer.from('first-photo') }), tg.file({ bytes: Buffer.from('second-photo') })];
      tg.say(bobChat, bob, { caption: 'use these', mediaGroupId: 'album-1', media: { kind: 'photo', file: files[0] as FakeFile } });
      tg.say(bobChat, bob, { mediaGroupId: 'album-1', media: { kind: 'photo', file: files[1] as FakeFile } });
      await rig.waitSent(bobChat.id, /Happy to help with: use these/, { timeoutMs: 30_000 });
      tg.say(bobChat, bob, { text: '/new' });
      await rig.waitSent(bobChat.id, /Started a fresh project/, { timeoutMs: 30_000 });

      // Export and delivery.
      const beforeExport = tg.sent.length;
      tg.say(chat, alice, { text: '/export' });
      await rig.waitSent(chat.id, /^Video ready/, { from: beforeExport, timeoutMs: 60_000 });
      const [renderId] = [...nemo.renders.keys()];
      const videos = tg.sent.filter((m) => m.kind === 'video');
      expect(videos).toHaveLength(1);
      expect(videos[0]?.file?.sha256).toBe(nemo.outputSha256(renderId ?? ''));
      // Transactions (MULTI) are not in the script check above: a cross-slot one shows in the logs.
      expect(rig.logs()).not.toMatch(/CROSSSLOT|EXECABORT/);
    } finally {
      await closeAndCheck(rig);
      for (const monitor of monitors) monitor.disconnect();
    }

    if (topology.kind !== 'cluster') return;
    // Each multi-key script ran, and every run had all its keys in one slot.
    const expected = multiKeyScripts();
    for (const [where, firstLine] of expected) {
      // MONITOR escapes the script's text: compare letters and digits only.
      const runs = evals.filter((e) => bare(e.script).includes(bare(firstLine)));
      expect(runs.length, `${where} never ran on the cluster`).toBeGreaterThan(0);
      for (const run of runs) expect(new Set(run.keys.map(keySlot)).size, `${where} with keys ${run.keys.join(', ')}`).toBe(1);
    }
  }, 240_000);
});

function bare(text: string): string {
  return text.replace(/\\n/g, ' ').replace(/[^A-Za-z0-9]/g, '');
}
