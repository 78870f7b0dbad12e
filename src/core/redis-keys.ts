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

  /** The person's projects in one chat: a hash of project ref → record (bounded, the session TTL). */
  projects(key: SessionKeyParts): string {
    return `${this.prefix}:projects:${sessionKeyId(key)}`;
  }

  /** Which project a message the bot posted belongs to (never its text); the session TTL. */
  messageProject(platform: Platform, chatId: string, messageId: string): string {
    return `${this.prefix}:msgproj:${platform}:${escapePart(chatId)}:${escapePart(messageId)}`;
  }

  identity(platform: Platform, userId: string): string {
    return `${this.prefix}:identity:${platform}:${escapePart(userId)}`;
  }

  /** SCAN pattern of every identity (`/stats`, never on a hot path). */
  identityPattern(): string {
    return `${this.prefix}:identity:*`;
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

  // Turns.
  turnLock(key: SessionKeyParts): string {
    return `${this.prefix}:turn:lock:${sessionKeyId(key)}`;
  }

  turnPending(key: SessionKeyParts): string {
    return `${this.prefix}:turn:pending:${sessionKeyId(key)}`;
  }

  /** SCAN pattern of every pending list (the sweep). */
  turnPendingPattern(): string {
    return `${this.prefix}:turn:pending:*`;
  }

  turnFull(key: SessionKeyParts): string {
    return `${this.prefix}:turn:full:${sessionKeyId(key)}`;
  }

  inflight(key: SessionKeyParts): string {
    return `${this.prefix}:inflight:${sessionKeyId(key)}`;
  }

  /** SCAN pattern of every journaled turn (recovery at start). */
  inflightPattern(): string {
    return `${this.prefix}:inflight:*`;
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

  /** SCAN pattern of every album's keys (the sweep); markers match too. */
  telegramAlbumPattern(): string {
    return `${this.prefix}:tg:album:*`;
  }

  /** `chatId:groupId` of an album's parts key: the inbox id is built from it. */
  telegramAlbumId(albumKey: string): string {
    return albumKey.slice(`${this.prefix}:tg:album:`.length);
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
