import { describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';

// The formats deployed Redis holds, copied from the stores before the key map existed: a change
// here makes existing sessions, identities and queues unreadable after an upgrade.
describe('RedisKeys', () => {
  const keys = createRedisKeys();
  const key = { platform: 'discord' as const, chatId: 'guild:1%2', userId: 'u:3' };
  const at = Date.UTC(2026, 11, 3, 7, 30);

  it('when built without a prefix, then every family keeps the format deployed Redis holds', () => {
    expect(keys.prefix).toBe('nvb');
    expect({
      session: keys.session(key),
      projects: keys.projects(key),
      messageProject: keys.messageProject('discord', 'chan:1', '99%'),
      messageMap: keys.messageMap('discord', 'chan:1%'),
      identity: keys.identity('telegram', '12:3%'),
      creating: keys.creating('telegram:-100:7'),
      refused: keys.refused('discord', '55:6'),
      floodRate: keys.floodRate(29_000_123, 'telegram', '42:x'),
      quota: keys.quota('renders', at, 'discord', '9'),
      stats: keys.stats('turns', at),
      statsPeople: keys.statsPeople(at),
      nemoErrors: keys.nemoErrors(5_900_000),
      inbox: keys.inbox(),
      alive: keys.alive('owner-1'),
      inboxIndex: keys.inboxIndexOf(keys.inbox()),
      turnLock: keys.turnLock(key),
      turnPending: keys.turnPending(key),
      turnPendingIndex: keys.turnPendingIndex(key),
      turnFull: keys.turnFull(key),
      inflight: keys.inflight(key),
      inflightIndex: keys.inflightIndex(key),
      exportSlot: keys.exportSlot('sess-1'),
      delivery: keys.delivery('render-1'),
      telegramUpdate: keys.telegramUpdate(777, 123456),
      telegramButton: keys.telegramButton('AbCd_-123456'),
      telegramPrivateLink: keys.telegramPrivateLink('lAbCdEfGhIjKlMnOp'),
      telegramAlbum: keys.telegramAlbum('-1001', 'grp9'),
      telegramAlbumArriving: keys.telegramAlbumArriving(keys.telegramAlbum('-1001', 'grp9')),
      telegramAlbumIndex: keys.telegramAlbumIndexOf(keys.telegramAlbum('-1001', 'grp9')),
      telegramAlbumOf: keys.telegramAlbumOf('-1001:grp9'),
      telegramAlbumId: keys.telegramAlbumId(keys.telegramAlbum('-1001', 'grp9')),
      discordSeenMessage: keys.discordSeen('message:5'),
      discordSeenInteraction: keys.discordSeen('interaction:6'),
      discordButtons: keys.discordButtons('row_1'),
      discordInteractionToken: keys.discordInteractionToken('int-1'),
      buttonTelegram: keys.button('telegram', 'AbCd_-123456'),
      buttonDiscord: keys.button('discord', 'row_1'),
    }).toEqual({
      session: 'nvb:session:discord:guild%3A1%252:u%3A3',
      projects: 'nvb:projects:discord:guild%3A1%252:u%3A3',
      messageProject: 'nvb:msgproj:discord:chan%3A1:99%25',
      messageMap: 'nvb:msgmap:discord:chan%3A1%25',
      identity: 'nvb:identity:telegram:12%3A3%25',
      creating: 'nvb:creating:telegram:-100:7',
      refused: 'nvb:refused:discord:55:6',
      floodRate: 'nvb:flood:rate:29000123:telegram:42:x',
      quota: 'nvb:quota:renders:2026-12-03:discord:9',
      stats: 'nvb:stats:turns:2026-12-03',
      statsPeople: 'nvb:stats:people-hll:2026-12-03',
      nemoErrors: 'nvb:stats:nemo-errors:5900000',
      inbox: 'nvb:inbox',
      alive: 'nvb:alive:owner-1',
      inboxIndex: 'nvb:index:inbox',
      turnLock: 'nvb:turn:lock:discord:guild%3A1%252:u%3A3',
      turnPending: 'nvb:turn:pending:discord:guild%3A1%252:u%3A3',
      turnPendingIndex: 'nvb:index:turn-pending',
      turnFull: 'nvb:turn:full:discord:guild%3A1%252:u%3A3',
      inflight: 'nvb:inflight:discord:guild%3A1%252:u%3A3',
      inflightIndex: 'nvb:index:inflight',
      exportSlot: 'nvb:export:slot:sess-1',
      delivery: 'nvb:delivery:render-1',
      telegramUpdate: 'nvb:tg:update:777:123456',
      telegramButton: 'nvb:tg:button:AbCd_-123456',
      telegramPrivateLink: 'nvb:tg:plink:lAbCdEfGhIjKlMnOp',
      telegramAlbum: 'nvb:tg:album:-1001:grp9',
      telegramAlbumArriving: 'nvb:tg:album:-1001:grp9:arriving',
      telegramAlbumIndex: 'nvb:index:tg-album',
      telegramAlbumOf: 'nvb:tg:album:-1001:grp9',
      telegramAlbumId: '-1001:grp9',
      discordSeenMessage: 'nvb:dc:message:5',
      discordSeenInteraction: 'nvb:dc:interaction:6',
      discordButtons: 'nvb:discord:buttons:row_1',
      discordInteractionToken: 'nvb:dc:itoken:int-1',
      // The core button store keeps each platform's family, so rows saved before it still read.
      buttonTelegram: 'nvb:tg:button:AbCd_-123456',
      buttonDiscord: 'nvb:discord:buttons:row_1',
    });
  });

  it('when given a prefix, then it leads every key as given (a trailing colon is kept, as the tests use)', () => {
    const mine = createRedisKeys('test:ab12cd34:');
    expect(mine.inbox()).toBe('test:ab12cd34::inbox');
    expect(mine.session({ platform: 'console', chatId: 'c', userId: 'u' })).toBe('test:ab12cd34::session:console:c:u');
    expect(mine.telegramAlbumId(mine.telegramAlbum('5', '6'))).toBe('5:6');
  });

  it('when ids hold colons, then two different sessions never share a key', () => {
    const a = keys.session({ platform: 'discord', chatId: 'a:b', userId: 'c' });
    const b = keys.session({ platform: 'discord', chatId: 'a', userId: 'b:c' });
    expect(a).not.toBe(b);
  });

  it('when keys carry hash tags (a cluster), then each sweep index sits in the slot of what it indexes, and the sweep reads every bucket', () => {
    const tagged = createRedisKeys('nvb', { hashTags: true });
    const tag = (k: string) => /\{[^}]+\}/.exec(k)?.[0];
    const session = { platform: 'telegram' as const, chatId: '-100:5', userId: '42' };
    const id = 'x:y';
    expect(tag(tagged.inflightIndex(session))).toBe(tag(tagged.inflight(session)));
    expect(tag(tagged.inflightIndex(session))).toBe(tag(tagged.turnLock(session)));
    expect(tagged.inflightOf('telegram:-100%3A5:42')).toBe(tagged.inflight(session));
    expect(tagged.turnLockOf('telegram:-100%3A5:42')).toBe(tagged.turnLock(session));
    expect(tag(tagged.turnPendingIndex(session))).toBe(tag(tagged.turnPending(session)));
    const inbox = tagged.inboxOf(tagged.inboxEntryId(id, 'telegram', '42'));
    expect(tag(tagged.inboxIndexOf(inbox))).toBe(tag(inbox));
    const album = tagged.telegramAlbum('-100', 'g', '42');
    expect(tag(tagged.telegramAlbumIndexOf(album))).toBe(tag(album));
    expect(tagged.telegramAlbumOf(tagged.telegramAlbumId(album))).toBe(album);
    for (const all of [tagged.inflightIndexes(), tagged.turnPendingIndexes(), tagged.inboxIndexes(), tagged.telegramAlbumIndexes()]) expect(new Set(all).size).toBe(128);
    expect(tagged.inflightIndexes()).toContain(tagged.inflightIndex(session));
    // Every day's people in one slot: /stats counts their union in one PFCOUNT.
    expect(tag(tagged.statsPeople(0))).toBe(tag(tagged.statsPeople(86_400_000)));
    expect(keys.inflightIndexes()).toEqual(['nvb:index:inflight']);
  });
});
