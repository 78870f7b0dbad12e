import { describe, expect, it } from 'vitest';
import { createRedisKeys, PERSON_BUCKETS, personBucket, sessionKeyId } from '../../src/core/redis-keys.js';
import type { Platform } from '../../src/core/types.js';
import { keySlot } from '../helpers/redis-topologies.js';

const keys = createRedisKeys('nvb', { hashTags: true });
const NOW = Date.UTC(2026, 0, 1);

/** Every key of one person that a multi-key script or transaction may touch together. */
function personKeys(platform: Platform, userId: string, chatId: string): string[] {
  const session = { platform, chatId, userId };
  const entry = keys.inboxEntryId(`${platform}:12345`, platform, userId);
  const album = keys.telegramAlbum(chatId, 'grp', userId);
  return [
    keys.session(session),
    keys.projects(session),
    keys.identity(platform, userId),
    keys.creating(sessionKeyId(session)),
    keys.refused(platform, userId),
    keys.floodRate(42, platform, userId),
    keys.quota('turns', NOW, platform, userId),
    keys.turnLock(session),
    keys.turnPending(session),
    keys.turnFull(session),
    keys.inflight(session),
    keys.inflightIndex(session),
    keys.turnPendingIndex(session),
    keys.inboxFor(platform, userId),
    keys.inboxIndexOf(keys.inboxFor(platform, userId)),
    keys.inboxOf(entry),
    keys.inboxIndexOf(keys.inboxOf(entry)),
    keys.seenWith(keys.telegramUpdate(777, 12345), entry),
    keys.seenWith(keys.discordSeen('message:5'), entry),
    ...(platform === 'telegram'
      ? [
          album,
          keys.telegramAlbumArriving(album),
          keys.telegramAlbumIndexOf(album),
          keys.inboxOf(`telegram:album:${keys.telegramAlbumId(album)}`),
          keys.inboxIndexOf(keys.inboxOf(`telegram:album:${keys.telegramAlbumId(album)}`)),
        ]
      : []),
  ];
}

describe('hash tags on a cluster', () => {
  it('when the keys of one person are built (every chat, limits, turns, inbox, seen marks, albums), then they all fall in one slot', () => {
    const people: Array<[Platform, string, string]> = [
      ['telegram', '123', '123'],
      ['telegram', '123', '-100777'],
      ['discord', '9876543210', 'chan:1'],
      ['console', 'local', 'local'],
      ['telegram', 'a:b%c{x}', '-1'],
    ];
    for (const [platform, userId, chatId] of people) {
      const slots = new Set(personKeys(platform, userId, chatId).map(keySlot));
      expect({ platform, userId, chatId, slots: slots.size }).toEqual({ platform, userId, chatId, slots: 1 });
    }
    // A Telegram private chat's message map is in its person's slot (the chat's id is theirs).
    expect(keySlot(keys.messageMap('telegram', '123'))).toBe(keySlot(keys.session({ platform: 'telegram', chatId: '123', userId: '123' })));
    // A person's chats share the slot too (flood control counts all their chats in one step).
    expect(keySlot(keys.session({ platform: 'telegram', chatId: '1', userId: '5' }))).toBe(keySlot(keys.session({ platform: 'telegram', chatId: '2', userId: '5' })));
  });

  it('when many people are keyed, then they spread over every bucket and evenly over three masters', () => {
    const buckets = new Set<number>();
    const perMaster = [0, 0, 0];
    const people = 3_000;
    for (let i = 0; i < people; i++) {
      const userId = String(100_000 + i * 7919);
      buckets.add(personBucket('telegram', userId));
      const slot = keySlot(keys.session({ platform: 'telegram', chatId: userId, userId }));
      // redis-cli --cluster create's ranges for three masters.
      perMaster[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]! += 1;
    }
    expect(buckets.size).toBe(PERSON_BUCKETS);
    for (const count of perMaster) expect(count).toBeGreaterThan(people * 0.2);
    expect(keys.inboxes()).toHaveLength(PERSON_BUCKETS);
    expect(new Set(keys.inboxes().map(keySlot)).size).toBe(PERSON_BUCKETS);
  });

  it('when hash tags are off (one server, Sentinel), then the keys are the ones deployed Redis already holds', () => {
    const plain = createRedisKeys('nvb');
    const session = { platform: 'telegram' as const, chatId: '1', userId: '2' };
    expect(plain.session(session)).toBe('nvb:session:telegram:1:2');
    expect(plain.inboxEntryId('telegram:5', 'telegram', '2')).toBe('telegram:5');
    expect(plain.inboxOf('telegram:5')).toBe('nvb:inbox');
    expect(plain.inboxes()).toEqual(['nvb:inbox']);
    expect(plain.seenWith('nvb:tg:update:1:5', 'telegram:5')).toBe('nvb:tg:update:1:5');
    expect(plain.telegramAlbum('-1', 'g', '2')).toBe('nvb:tg:album:-1:g');
    expect(plain.messageMap('telegram', '-1')).toBe('nvb:msgmap:telegram:-1');
  });
});

describe('the day counters on a cluster', () => {
  it("when a turn is counted with its person in one transaction, then the day's counters and people share one slot, every day", () => {
    const days = [NOW, NOW + 86_400_000, NOW + 40 * 86_400_000];
    const slots = new Set(days.flatMap((day) => [keys.stats('turns', day), keys.stats('renders', day), keys.statsPeople(day)].map(keySlot)));
    expect(slots.size).toBe(1);
  });
});
