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

function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * Every Redis key the bot writes, built from one prefix: the only place a key string is made
 * (a test keeps it so). The formats are what deployed Redis holds, so they never change;
 * BullMQ's keys are BullMQ's own and not here.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  // Sessions and people.
  session(key: SessionKeyParts): string {
    return `${this.prefix}:session:${sessionKeyId(key)}`;
  }

  identity(platform: Platform, userId: string): string {
    return `${this.prefix}:identity:${platform}:${escapePart(userId)}`;
  }

  /** The lease on creating a session's project; `keyId` is a `sessionKeyId`. */
  creating(keyId: string): string {
    return `${this.prefix}:creating:${keyId}`;
  }

  /** Remembers that a refused person was told once. */
  refused(platform: Platform, userId: string): string {
    return `${this.prefix}:refused:${platform}:${userId}`;
  }

  // Limits. The user id goes last and whole: `:` inside it cannot make two people share a key.
  floodRate(window: number, platform: Platform, userId: string): string {
    return `${this.prefix}:flood:rate:${window}:${platform}:${userId}`;
  }

  quota(kind: string, now: number, platform: Platform, userId: string): string {
    return `${this.prefix}:quota:${kind}:${utcDay(now)}:${platform}:${userId}`;
  }

  stats(kind: string, now: number): string {
    return `${this.prefix}:stats:${kind}:${utcDay(now)}`;
  }

  /** The people who started a turn on `now`'s UTC day: a HyperLogLog (12 KB at most). */
  statsPeople(now: number): string {
    return `${this.prefix}:stats:people-hll:${utcDay(now)}`;
  }

  /** NemoVideo errors by code in one 5-minute bucket (a hash; `bucket` is minutes since the epoch / 5). */
  nemoErrors(bucket: number): string {
    return `${this.prefix}:stats:nemo-errors:${bucket}`;
  }

  // Messages on their way in.
  /** The hash of received messages not yet safe elsewhere. */
  inbox(): string {
    return `${this.prefix}:inbox`;
  }

  /** A process's heartbeat: its inbox entries are taken over once it lapses. */
  alive(owner: string): string {
    return `${this.prefix}:alive:${owner}`;
  }

  /** Inbox entry ids by the time their owner's heartbeat must be checked (sorted set): the orphan sweep reads what is due. */
  inboxIndex(): string {
    return `${this.prefix}:index:inbox`;
  }

  // Turns. The `…Of` forms take a `sessionKeyId`, as the indexes hold it.
  turnLock(key: SessionKeyParts): string {
    return this.turnLockOf(sessionKeyId(key));
  }

  turnLockOf(keyId: string): string {
    return `${this.prefix}:turn:lock:${keyId}`;
  }

  turnPending(key: SessionKeyParts): string {
    return this.turnPendingOf(sessionKeyId(key));
  }

  turnPendingOf(keyId: string): string {
    return `${this.prefix}:turn:pending:${keyId}`;
  }

  /** Sessions with turns waiting, by when their lock lapses unless renewed (sorted set of `sessionKeyId`s): the sweep reads what is due. */
  turnPendingIndex(): string {
    return `${this.prefix}:index:turn-pending`;
  }

  turnFull(key: SessionKeyParts): string {
    return `${this.prefix}:turn:full:${sessionKeyId(key)}`;
  }

  inflight(key: SessionKeyParts): string {
    return this.inflightOf(sessionKeyId(key));
  }

  inflightOf(keyId: string): string {
    return `${this.prefix}:inflight:${keyId}`;
  }

  /** Journaled turns, by when their lock lapses unless renewed (sorted set of `sessionKeyId`s): recovery reads what is due. */
  inflightIndex(): string {
    return `${this.prefix}:index:inflight`;
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

  /** The parts of one album (`groupId`: its media group id, or the message id). */
  telegramAlbum(chatId: string | number, groupId: string | number): string {
    return `${this.prefix}:tg:album:${chatId}:${groupId}`;
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

  /** Albums by when they count as abandoned (sorted set of `telegramAlbumId`s): the sweep reads what is due. */
  telegramAlbumIndex(): string {
    return `${this.prefix}:index:tg-album`;
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
export function createRedisKeys(prefix = 'nvb'): RedisKeys {
  return new RedisKeys(prefix);
}
