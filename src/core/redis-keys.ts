import type { Platform } from './types.js';

/** The parts of a session key the map needs (the full type lives in `session-store.ts`). */
interface SessionKeyParts {
  platform: Platform;
  chatId: string;
  userId: string;
}

/** The platforms that post buttons. */
export type ButtonPlatform = Extract<Platform, 'telegram' | 'discord'>;

/** `%` and `:` are escaped so that `a:b` + `c` and `a` + `b:c` never share an id. */
function escapePart(part: string): string {
  return part.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** `telegram:123:456`: platform, chat id, user id, with `:` inside the ids escaped. */
export function sessionKeyId(key: SessionKeyParts): string {
  return `${key.platform}:${escapePart(key.chatId)}:${escapePart(key.userId)}`;
}

/**
 * On a cluster, keys carry a hash tag: every key of one person (sessions in every chat, limits,
 * queued and journaled turns, inbox entries, seen marks of their updates) falls in one of
 * `PERSON_BUCKETS` slots, chosen by a hash of platform and user id, so one person's multi-key
 * scripts stay in one slot while different people spread over the cluster's masters. Fixed for
 * ever: a change would move every key.
 */
export const PERSON_BUCKETS = 128;

/** A person's bucket: FNV-1a of `platform:userId`, modulo `PERSON_BUCKETS`. */
export function personBucket(platform: string, userId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${platform}:${userId}`, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % PERSON_BUCKETS;
}

const TAG = /\{b(\d{1,3})\}/;

export interface RedisKeysOptions {
  /** Hash tags per person (REDIS_CLUSTER_NODES set). Off elsewhere, so that a deployed Redis keeps its keys. */
  hashTags?: boolean;
}

function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * Every Redis key the bot writes, built from one prefix: the only place a key string is made
 * (a test keeps it so). The formats are what deployed Redis holds, so they never change;
 * BullMQ's keys are BullMQ's own and not here.
 */
export class RedisKeys {
  readonly hashTags: boolean;

  constructor(
    readonly prefix: string,
    options: RedisKeysOptions = {},
  ) {
    this.hashTags = options.hashTags ?? false;
  }

  /** `{b17}:` (with hash tags) or '' : goes right after a key's family, before its ids. */
  private tag(platform: string, userId: string): string {
    return this.hashTags ? `{b${personBucket(platform, userId)}}:` : '';
  }

  /** The tag of a session id (`sessionKeyId`): its platform and (unescaped) user id. */
  private tagOfKeyId(keyId: string): string {
    if (!this.hashTags) return '';
    const [platform = '', , userId = ''] = keyId.split(':');
    return this.tag(platform, decodeURIComponent(userId));
  }

  private sessionTag(key: SessionKeyParts): string {
    return this.tag(key.platform, key.userId);
  }

  // Sessions and people.
  session(key: SessionKeyParts): string {
    return `${this.prefix}:session:${this.sessionTag(key)}${sessionKeyId(key)}`;
  }

  /**
   * The person's projects in one chat: a hash of project ref → record, its title (`<ref>#t`) and
   * export count (`<ref>#n`); bounded, the session TTL. In the session's slot: one script writes both.
   */
  projects(key: SessionKeyParts): string {
    return `${this.prefix}:projects:${this.sessionTag(key)}${sessionKeyId(key)}`;
  }

  /**
   * Which project each recent message the bot posted in a chat belongs to (a capped hash of
   * message id → owner, never the text); the session TTL. Tagged by the chat: a Telegram
   * private chat's map falls in its person's slot.
   */
  messageMap(platform: Platform, chatId: string): string {
    return `${this.prefix}:msgmap:${this.tag(platform, chatId)}${platform}:${escapePart(chatId)}`;
  }

  /** The former one key per posted message: only read (a miss in `messageMap`) until the last expire, a session TTL after the upgrade. */
  messageProject(platform: Platform, chatId: string, messageId: string): string {
    return `${this.prefix}:msgproj:${platform}:${escapePart(chatId)}:${escapePart(messageId)}`;
  }

  identity(platform: Platform, userId: string): string {
    return `${this.prefix}:identity:${this.tag(platform, userId)}${platform}:${escapePart(userId)}`;
  }

  /** The lease on creating a session's project; `keyId` is a `sessionKeyId`. */
  creating(keyId: string): string {
    return `${this.prefix}:creating:${this.tagOfKeyId(keyId)}${keyId}`;
  }

  /** Remembers that a refused person was told once. */
  refused(platform: Platform, userId: string): string {
    return `${this.prefix}:refused:${this.tag(platform, userId)}${platform}:${userId}`;
  }

  // Limits. The user id goes last and whole: `:` inside it cannot make two people share a key.
  floodRate(window: number, platform: Platform, userId: string): string {
    return `${this.prefix}:flood:rate:${this.tag(platform, userId)}${window}:${platform}:${userId}`;
  }

  quota(kind: string, now: number, platform: Platform, userId: string): string {
    return `${this.prefix}:quota:${kind}:${this.tag(platform, userId)}${utcDay(now)}:${platform}:${userId}`;
  }

  /**
   * On a cluster the day's counters and people share one slot (`{stats}`): a turn's count and
   * its person go in one MULTI, and `/stats` reads the union of several days in one PFCOUNT.
   */
  private statsTag(): string {
    return this.hashTags ? '{stats}:' : '';
  }

  stats(kind: string, now: number): string {
    return `${this.prefix}:stats:${kind}:${this.statsTag()}${utcDay(now)}`;
  }

  /** The people who started a turn on `now`'s UTC day: a HyperLogLog (12 KB at most). */
  statsPeople(now: number): string {
    return `${this.prefix}:stats:people-hll:${this.statsTag()}${utcDay(now)}`;
  }

  /** NemoVideo errors by code in one 5-minute bucket (a hash; `bucket` is minutes since the epoch / 5). */
  nemoErrors(bucket: number): string {
    return `${this.prefix}:stats:nemo-errors:${bucket}`;
  }

  // Messages on their way in.
  /** The hash of received messages not yet safe elsewhere (one per bucket with hash tags). */
  inbox(): string {
    return `${this.prefix}:inbox`;
  }

  /** Every inbox hash: the one, or one per bucket (the sweep reads them all). */
  inboxes(): string[] {
    if (!this.hashTags) return [this.inbox()];
    return Array.from({ length: PERSON_BUCKETS }, (_, bucket) => `${this.prefix}:inbox:{b${bucket}}`);
  }

  /** The id under which a person's message is kept: with hash tags it names the person's bucket. */
  inboxEntryId(id: string, platform: string, userId: string): string {
    return this.hashTags ? `${id}:${this.tag(platform, userId).slice(0, -1)}` : id;
  }

  /** The inbox hash holding entry `id` (an `inboxEntryId`, or an album's id, which carries the album key's tag). */
  inboxOf(id: string): string {
    const bucket = TAG.exec(id)?.[1];
    return this.hashTags && bucket !== undefined ? `${this.prefix}:inbox:{b${bucket}}` : this.inbox();
  }

  /** The inbox hash of a person's entries (a script that may release one names it even when it releases none). */
  inboxFor(platform: string, userId: string): string {
    return this.hashTags ? `${this.prefix}:inbox:${this.tag(platform, userId).slice(0, -1)}` : this.inbox();
  }

  /** `seenKey` (a platform's seen mark) in the slot of inbox entry `entryId`, so one script writes both. */
  seenWith(seenKey: string, entryId: string): string {
    const bucket = TAG.exec(entryId)?.[1];
    if (!this.hashTags || bucket === undefined || TAG.test(seenKey)) return seenKey;
    const family = seenKey.slice(0, this.prefix.length + 1);
    return `${family}{b${bucket}}:${seenKey.slice(this.prefix.length + 1)}`;
  }

  /** A process's heartbeat: its inbox entries are taken over once it lapses. */
  alive(owner: string): string {
    return `${this.prefix}:alive:${owner}`;
  }

  // Sweep indexes: small sorted sets of what a sweep looks for, by deadline. With hash tags there
  // is one per bucket, in the slot of what it indexes, so the scripts that create or end an
  // entry and its place in the index stay in one slot; a sweep reads every bucket's.

  /** `:{b17}` for a key carrying bucket 17's tag (with hash tags), else ''. */
  private bucketSuffix(key: string): string {
    const bucket = TAG.exec(key)?.[1];
    return this.hashTags && bucket !== undefined ? `:{b${bucket}}` : '';
  }

  private everyBucket(family: string): string[] {
    if (!this.hashTags) return [`${this.prefix}:index:${family}`];
    return Array.from({ length: PERSON_BUCKETS }, (_, bucket) => `${this.prefix}:index:${family}:{b${bucket}}`);
  }

  /** Inbox entry ids by admission time (sorted set), beside the inbox hash `inboxKey` (an `inboxOf`/`inboxFor`): the orphan sweep reads it. */
  inboxIndexOf(inboxKey: string): string {
    return `${this.prefix}:index:inbox${this.bucketSuffix(inboxKey)}`;
  }

  /** Every inbox index: the one, or one per bucket. */
  inboxIndexes(): string[] {
    return this.everyBucket('inbox');
  }

  // Turns. The `…Of` forms take a `sessionKeyId`, as the indexes hold it.
  turnLock(key: SessionKeyParts): string {
    return this.turnLockOf(sessionKeyId(key));
  }

  turnLockOf(keyId: string): string {
    return `${this.prefix}:turn:lock:${this.tagOfKeyId(keyId)}${keyId}`;
  }

  turnPending(key: SessionKeyParts): string {
    return this.turnPendingOf(sessionKeyId(key));
  }

  turnPendingOf(keyId: string): string {
    return `${this.prefix}:turn:pending:${this.tagOfKeyId(keyId)}${keyId}`;
  }

  /** Sessions with turns waiting, by when their lock lapses unless renewed (sorted set of `sessionKeyId`s) in `key`'s slot: the sweep reads what is due. */
  turnPendingIndex(key: SessionKeyParts): string {
    return `${this.prefix}:index:turn-pending${this.bucketSuffix(this.sessionTag(key))}`;
  }

  /** Every waiting-turn index: the one, or one per bucket. */
  turnPendingIndexes(): string[] {
    return this.everyBucket('turn-pending');
  }

  turnFull(key: SessionKeyParts): string {
    return `${this.prefix}:turn:full:${this.sessionTag(key)}${sessionKeyId(key)}`;
  }

  inflight(key: SessionKeyParts): string {
    return this.inflightOf(sessionKeyId(key));
  }

  inflightOf(keyId: string): string {
    return `${this.prefix}:inflight:${this.tagOfKeyId(keyId)}${keyId}`;
  }

  /** Journaled turns, by when their lock lapses unless renewed (sorted set of `sessionKeyId`s) in `key`'s slot: recovery reads what is due. */
  inflightIndex(key: SessionKeyParts): string {
    return `${this.prefix}:index:inflight${this.bucketSuffix(this.sessionTag(key))}`;
  }

  /** Every journal index: the one, or one per bucket. */
  inflightIndexes(): string[] {
    return this.everyBucket('inflight');
  }

  // Renders.
  exportSlot(sessionId: string): string {
    return `${this.prefix}:export:slot:${sessionId}`;
  }

  delivery(deliveryId: string): string {
    return `${this.prefix}:delivery:${deliveryId}`;
  }

  // Telegram.
  telegramUpdate(botId: number | string, updateId: number | string): string {
    return `${this.prefix}:tg:update:${botId}:${updateId}`;
  }

  telegramButton(id: string): string {
    return `${this.prefix}:tg:button:${id}`;
  }

  telegramPrivateLink(id: string): string {
    return `${this.prefix}:tg:plink:${id}`;
  }

  /** `botId`, hash-tagged on a cluster: the budget's script touches the token's and a chat's keys in one slot. */
  private paceId(botId: string): string {
    return this.hashTags ? `{${botId}}` : botId;
  }

  /** The bot token's post log (its 30-a-second budget), shared by every process posting with it. */
  telegramPaceToken(botId: string): string {
    return `${this.prefix}:tg:pace:${this.paceId(botId)}`;
  }

  /** When the bot token's posts are spaced out again (the even pace past its burst). */
  telegramPaceTokenSpacing(botId: string): string {
    return `${this.prefix}:tg:pace:${this.paceId(botId)}:spacing`;
  }

  /** One chat's burst bucket under the bot token `botId`. */
  telegramPaceChat(botId: string, chatId: string): string {
    return `${this.prefix}:tg:pace:${this.paceId(botId)}:chat:${chatId}`;
  }

  /** One group's post log (20 a minute) under the bot token `botId`. */
  telegramPaceGroup(botId: string, chatId: string): string {
    return `${this.prefix}:tg:pace:${this.paceId(botId)}:group:${chatId}`;
  }

  /** The parts of one album (`groupId`: its media group id, or the message id). */
  telegramAlbum(chatId: string | number, groupId: string | number, userId: string | number = ''): string {
    return `${this.prefix}:tg:album:${this.hashTags ? this.tag('telegram', String(userId)) : ''}${chatId}:${groupId}`;
  }

  /** The "still arriving" marker of the album whose parts key is `albumKey`. */
  telegramAlbumArriving(albumKey: string): string {
    return `${albumKey}:arriving`;
  }

  /** `chatId:groupId` of an album's parts key: the inbox id and the index member are built from it. */
  telegramAlbumId(albumKey: string): string {
    return albumKey.slice(`${this.prefix}:tg:album:`.length);
  }

  /** The parts key of the album whose `telegramAlbumId` is `albumId`. */
  telegramAlbumOf(albumId: string): string {
    return `${this.prefix}:tg:album:${albumId}`;
  }

  /** Albums by when they count as abandoned (sorted set of `telegramAlbumId`s), in the slot of the album `albumKey`: the sweep reads what is due. */
  telegramAlbumIndexOf(albumKey: string): string {
    return `${this.prefix}:index:tg-album${this.bucketSuffix(albumKey)}`;
  }

  /** Every album index: the one, or one per bucket. */
  telegramAlbumIndexes(): string[] {
    return this.everyBucket('tg-album');
  }

  // Discord.
  /** `seen`: `message:<id>` or `interaction:<id>`. */
  discordSeen(seen: string): string {
    return `${this.prefix}:dc:${seen}`;
  }

  discordButtons(rowId: string): string {
    return `${this.prefix}:discord:buttons:${rowId}`;
  }

  discordInteractionToken(interactionId: string): string {
    return `${this.prefix}:dc:itoken:${interactionId}`;
  }

  // Both platforms.
  /** A row of buttons in the core button store: each platform keeps the family it always had. */
  button(platform: ButtonPlatform, rowId: string): string {
    return platform === 'telegram' ? this.telegramButton(rowId) : this.discordButtons(rowId);
  }
}

/** The key map for `prefix` (`REDIS_PREFIX`): built once at start and passed to every store. */
export function createRedisKeys(prefix = 'nvb', options: RedisKeysOptions = {}): RedisKeys {
  return new RedisKeys(prefix, options);
}
