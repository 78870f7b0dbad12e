import { describe, expect, it } from 'vitest';
import { projectRef } from '../../src/core/project-ref.js';
import { MAX_PROJECTS, SessionStore, type SessionKey, type SessionRecord } from '../../src/core/session-store.js';
import { testRedisClients } from '../helpers/redis.js';

const key: SessionKey = { platform: 'telegram', chatId: '-100123', userId: '456' };
const TTL = 1000;

function record(sessionId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return { taskId: `task_${sessionId}`, sessionId, nemoUserId: 'anon_1', language: 'en', createdAt: now, updatedAt: now, ...overrides };
}

describe('projects of a person in a chat (SessionStore)', () => {
  const connect = testRedisClients();

  function setup() {
    const { redis, keys } = connect();
    return { redis, keys, store: new SessionStore(redis, keys, { ttlSeconds: TTL }) };
  }

  it('when a turn of a project the person switched away from ends, then its write updates the listing and never takes "current" back', async () => {
    const { redis, keys, store } = setup();
    const a = record('sess-a', { lastDraft: { tracks: [1, 2, 3] } });
    await store.makeCurrent(key, a);
    await store.leave(key);
    await store.makeCurrent(key, record('sess-b'));
    expect(await store.write(key, { ...a, updatedAt: Date.now() + 5 })).toBe(false);
    expect((await store.read(key))?.sessionId).toBe('sess-b');
    // Listed without its draft (it can be large; a switched-to project reads it from the service).
    const listed = await store.readProject(key, projectRef('sess-a'));
    expect(listed?.record.sessionId).toBe('sess-a');
    expect(listed?.record.lastDraft).toBeUndefined();
    // The current one's own write stays current; the hash lives as long as a session.
    expect(await store.write(key, record('sess-b', { lastDraft: { d: 1 } }))).toBe(true);
    expect((await store.read(key))?.lastDraft).toEqual({ d: 1 });
    const ttl = await redis.ttl(keys.projects(key));
    expect(ttl).toBeGreaterThan(TTL - 10);
    expect(ttl).toBeLessThanOrEqual(TTL);
  });

  it('when projects are listed, then the latest comes first with its title (named once) and its export count (counted in Redis, never lost to a concurrent write)', async () => {
    const { store } = setup();
    const a = record('sess-a', { updatedAt: Date.now() - 5000 });
    const b = record('sess-b');
    await store.makeCurrent(key, a);
    await store.makeCurrent(key, b);
    await store.nameProject(key, a, 'A city timelapse');
    await store.nameProject(key, a, 'a later prompt');
    const versions = await Promise.all([store.nextVersion(key, a), store.nextVersion(key, a), store.write(key, a).then(() => 0)]);
    expect(versions.slice(0, 2).sort()).toEqual([1, 2]);
    const list = await store.listProjects(key);
    expect(list.map((p) => [p.record.sessionId, p.title, p.exports])).toEqual([
      ['sess-b', undefined, 0],
      ['sess-a', 'A city timelapse', 2],
    ]);
    expect(await store.projectInfo(key, a)).toMatchObject({ title: 'A city timelapse', exports: 2 });
  });

  it('when an export is given back, then the count goes back only while it is the last number given, and only once', async () => {
    const { store } = setup();
    const a = record('sess-a');
    await store.makeCurrent(key, a);
    const ref = projectRef('sess-a');
    expect(await store.nextVersion(key, a)).toBe(1);
    expect(await store.nextVersion(key, a)).toBe(2);
    expect(await store.giveBackVersion(key, ref, 2)).toBe(true);
    // Run again (a resent call, a re-run job): nothing more goes back.
    expect(await store.giveBackVersion(key, ref, 2)).toBe(false);
    expect(await store.nextVersion(key, a)).toBe(2);
    expect(await store.nextVersion(key, a)).toBe(3);
    // v2 is no longer the last one given: v3 keeps its number, and so does v2.
    expect(await store.giveBackVersion(key, ref, 2)).toBe(false);
    expect(await store.projectInfo(key, a)).toMatchObject({ exports: 3 });
  });

  it('when a project was inactive for the session TTL, then it is not listed, not reachable by reference, and pruned', async () => {
    const { redis, keys, store } = setup();
    const stale = record('sess-old', { updatedAt: Date.now() - (TTL + 5) * 1000 });
    await store.makeCurrent(key, stale);
    await store.nameProject(key, stale, 'old');
    await store.makeCurrent(key, record('sess-new'));
    expect((await store.listProjects(key)).map((p) => p.record.sessionId)).toEqual(['sess-new']);
    expect(await store.readProject(key, projectRef('sess-old'))).toBeUndefined();
    await store.pruneProjects(key);
    expect((await redis.hkeys(keys.projects(key))).sort()).toEqual([projectRef('sess-new')]);
  });

  it('when more projects start than the bound, then the least recently active go (with their title and count) and the hash stays bounded', async () => {
    const { redis, keys, store } = setup();
    const now = Date.now();
    for (let i = 0; i < MAX_PROJECTS + 3; i += 1) {
      await store.pruneProjects(key);
      const r = record(`sess-${i}`, { updatedAt: now - (MAX_PROJECTS + 3 - i) * 1000 });
      await store.makeCurrent(key, r);
      await store.nameProject(key, r, `project ${i}`);
      await store.nextVersion(key, r);
    }
    const list = await store.listProjects(key);
    expect(list).toHaveLength(MAX_PROJECTS);
    expect(list.at(-1)?.record.sessionId).toBe('sess-3');
    // Three fields per project (record, title, count), none left over from the pruned ones.
    expect(await redis.hlen(keys.projects(key))).toBe(MAX_PROJECTS * 3);
  });

  it('when a project is forgotten (the service lost it), then it is neither current nor listed; /login and /logout forget them all', async () => {
    const { store } = setup();
    const a = record('sess-a');
    await store.makeCurrent(key, a);
    await store.forget(key, a);
    expect(await store.read(key)).toBeUndefined();
    expect(await store.listProjects(key)).toEqual([]);
    await store.makeCurrent(key, record('sess-b'));
    await store.delete(key);
    expect(await store.listProjects(key)).toEqual([]);
  });
});
