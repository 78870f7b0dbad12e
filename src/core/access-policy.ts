import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';
import type { ChatAddress } from './types.js';

export interface AccessLists {
  allowedUsers: readonly string[];
  allowedChats: readonly string[];
  adminUsers: readonly string[];
}

export type AccessVerdict = 'allowed' | 'refuse' | 'ignore';

// One refusal a day per person is polite; more would flood a group.
const REFUSAL_MEMORY_SECONDS = 86_400;

/** The allow-lists as a local test, no Redis: also what the Telegram intake thread checks before its "typing…". */
export class AccessRules {
  private readonly users: ReadonlySet<string>;
  private readonly chats: ReadonlySet<string>;
  private readonly admins: ReadonlySet<string>;

  constructor(lists: AccessLists) {
    this.users = new Set(lists.allowedUsers);
    this.chats = new Set(lists.allowedChats);
    this.admins = new Set(lists.adminUsers);
  }

  isAdmin(address: ChatAddress): boolean {
    return address.platform === 'console' || this.admins.has(userRef(address));
  }

  /** Whether the lists let `address` in (a stranger's one refusal is `AccessPolicy.check`'s). */
  permits(address: ChatAddress): boolean {
    // The terminal is the operator's own machine.
    if (address.platform === 'console' || this.isAdmin(address)) return true;
    if (this.users.size === 0 && this.chats.size === 0) return true;
    if (this.users.has(userRef(address))) return true;
    const guildId = address.extra?.['guildId'];
    return (
      this.chats.has(`${address.platform}:${address.chatId}`) ||
      (typeof guildId === 'string' && this.chats.has(`${address.platform}:guild:${guildId}`))
    );
  }
}

/**
 * Who may use the bot: `ALLOWED_USERS` and `ALLOWED_CHATS` (empty: everyone). A stranger
 * gets one polite refusal, then silence.
 */
export class AccessPolicy extends AccessRules {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    lists: AccessLists,
  ) {
    super(lists);
  }

  async check(address: ChatAddress): Promise<AccessVerdict> {
    if (this.permits(address)) return 'allowed';
    const first = await this.redis.set(this.keys.refused(address.platform, address.userId), '1', 'EX', REFUSAL_MEMORY_SECONDS, 'NX');
    return first === 'OK' ? 'refuse' : 'ignore';
  }
}

function userRef(address: ChatAddress): string {
  return `${address.platform}:${address.userId}`;
}
