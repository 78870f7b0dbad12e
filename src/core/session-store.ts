import type { Redis } from 'ioredis';
import { parseStored } from '../lib/stored-json.js';
import { z } from 'zod';
import { Lease } from '../lib/lease.js';
import { PROJECT_WRITE } from '../lib/lua/project-write.js';
import { VERSION_GIVE_BACK } from '../lib/lua/version-give-back.js';
import { projectRef } from './project-ref.js';
import { runScript } from '../lib/lua/script.js';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';
import { isSealed, type TokenCipher } from './token-cipher.js';
import type { Language, Platform } from './types.js';

/** One conversation: a user in a chat. The same person has one key per chat. */
export interface SessionKey {
  platform: Platform;
  chatId: string;
  userId: string;
}

export const PlatformSchema = z.enum(['console', 'telegram', 'discord']);
export const LanguageSchema = z.enum(['en', 'zh']);

export const SessionKeySchema = z.object({
  platform: PlatformSchema,
  chatId: z.string(),
  userId: z.string(),
});

export const ChatAddressSchema = z.object({
  platform: PlatformSchema,
  chatId: z.string(),
  userId: z.string(),
  threadId: z.string().optional(),
  progressMessageId: z.string().optional(),
  extra: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export { sessionKeyId } from './redis-keys.js';

export interface SessionRecord {
  taskId: string;
  sessionId: string;
  nemoUserId: string;
  claimToken?: string;
  language: Language;
  lastDraft?: unknown;
  createdAt: number;
  updatedAt: number;
}

/** A listed project: its record, the title from its first prompt, and how many exports it has had. */
export interface ProjectInfo {
  record: SessionRecord;
  title?: string | undefined;
  exports: number;
}

/** A person's projects in one chat, at most this many (the oldest go when a new one starts). */
export const MAX_PROJECTS = 20;
const TITLE_FIELD = '#t';
const EXPORTS_FIELD = '#n';

/** A project's short reference (see `project-ref.ts`), from its record. */
export function projectRefOf(record: Pick<SessionRecord, 'sessionId'>): string {
  return projectRef(record.sessionId);
}

/** Per platform user, not per chat: one anonymous client id (and token) per person. */
export interface UserIdentity {
  clientId: string;
  token?: string;
  tokenExpiresAt?: string;
  nemoUserId?: string;
  /** The user's own NemoVideo token (`/login`), AES-256-GCM encrypted: never stored in the clear. */
  personalToken?: string;
}

const SessionRecordSchema = z.object({
  taskId: z.string(),
  sessionId: z.string(),
  nemoUserId: z.string(),
  claimToken: z.string().optional(),
  language: LanguageSchema,
  lastDraft: z.unknown().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

const UserIdentitySchema = z.object({
  clientId: z.string().min(1),
  token: z.string().optional(),
  tokenExpiresAt: z.string().optional(),
  nemoUserId: z.string().optional(),
  personalToken: z.string().optional(),
});

export interface SessionStoreOptions {
  /** Session records expire after this long without a write, identities after this long unused; default 30 days. */
  ttlSeconds?: number;
  /** Seals the anonymous token of each identity; absent: it is stored in clear (the bot warns at start). */
  cipher?: TokenCipher | undefined;
}

const DEFAULT_TTL_SECONDS = 30 * 24 * 3600;

// KEYS[1] the identity; ARGV[1] the value read in clear; ARGV[2] the same, sealed; ARGV[3] TTL in s.
const RESEAL = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 1
`;

/**
 * The per-user record in Redis. Reads validate with zod: a record that does not parse reads
 * as absent (the caller logs it and starts fresh) rather than throwing into a chat turn.
 */
export class SessionStore {
  private readonly ttlSeconds: number;
  private readonly cipher: TokenCipher | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: SessionStoreOptions = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.cipher = options.cipher;
  }

  async read(key: SessionKey): Promise<SessionRecord | undefined> {
    return parseStored(await this.redis.get(this.sessionKey(key)), SessionRecordSchema);
  }

  /**
   * Saves a project's record and lists it among the person's projects. It stays (or becomes) the
   * current project only when it was, or none is: a turn that ends after the person switched to
   * another project must not switch them back. Returns true when it is the current one.
   */
  async write(key: SessionKey, record: SessionRecord): Promise<boolean> {
    return this.save(key, record, false);
  }

  /** Saves `record` as the person's current project (a new one, or one they switched to). */
  async makeCurrent(key: SessionKey, record: SessionRecord): Promise<void> {
    await this.save(key, record, true);
  }

  /** Forgets the person's projects in this chat, current and listed (another account's projects). */
  async delete(key: SessionKey): Promise<void> {
    await this.redis.del(this.sessionKey(key), this.keys.projects(key));
  }

  /** The current project is left (a new one is coming); it stays listed. */
  async leave(key: SessionKey): Promise<void> {
    await this.redis.del(this.sessionKey(key));
  }

  /** The service forgot this project: neither current nor listed any more. */
  async forget(key: SessionKey, record: SessionRecord): Promise<void> {
    const ref = projectRefOf(record);
    await this.redis.multi().del(this.sessionKey(key)).hdel(this.keys.projects(key), ref, ref + TITLE_FIELD, ref + EXPORTS_FIELD).exec();
  }

  /** One listed project, by its reference; undefined when gone or expired. */
  async readProject(key: SessionKey, ref: string): Promise<ProjectInfo | undefined> {
    const [raw, title, exports] = await this.redis.hmget(this.keys.projects(key), ref, ref + TITLE_FIELD, ref + EXPORTS_FIELD);
    const record = parseStored(raw ?? null, SessionRecordSchema);
    return record && this.fresh(record) ? info(record, title, exports) : undefined;
  }

  /** The title and export count of `record`'s project. */
  async projectInfo(key: SessionKey, record: SessionRecord): Promise<ProjectInfo> {
    const ref = projectRefOf(record);
    const [title, exports] = await this.redis.hmget(this.keys.projects(key), ref + TITLE_FIELD, ref + EXPORTS_FIELD);
    return info(record, title, exports);
  }

  /** The person's projects in this chat, the most recently active first. */
  async listProjects(key: SessionKey): Promise<ProjectInfo[]> {
    const all = await this.redis.hgetall(this.keys.projects(key));
    return Object.entries(all)
      .filter(([field]) => !field.includes('#'))
      .map(([ref, raw]) => ({ ref, record: parseStored(raw, SessionRecordSchema) }))
      .filter((entry): entry is { ref: string; record: SessionRecord } => entry.record !== undefined && this.fresh(entry.record))
      .map(({ ref, record }) => info(record, all[ref + TITLE_FIELD], all[ref + EXPORTS_FIELD]))
      .sort((a, b) => b.record.updatedAt - a.record.updatedAt);
  }

  /**
   * The number of the project's next export ("v3"), counted in Redis (HINCRBY): a turn that ends
   * meanwhile rewrites the record, never the count.
   */
  async nextVersion(key: SessionKey, record: SessionRecord): Promise<number> {
    const projects = this.keys.projects(key);
    const results = await this.redis.multi().hincrby(projects, projectRefOf(record) + EXPORTS_FIELD, 1).expire(projects, this.ttlSeconds).exec();
    const [error, version] = results?.[0] ?? [new Error('the version count was discarded'), null];
    if (error) throw error;
    return Number(version);
  }

  /**
   * An export that was never delivered (its render failed, timed out or was refused) gives its
   * number back, so the versions listed and the next caption skip none. Only while it is still
   * the last number given: a later export keeps its own.
   */
  async giveBackVersion(key: SessionKey, ref: string, version: number): Promise<boolean> {
    return (await runScript(this.redis, VERSION_GIVE_BACK, [this.keys.projects(key)], [ref + EXPORTS_FIELD, version])) === 1;
  }

  /** Names the project once (from its first prompt); later names leave it as it is. */
  async nameProject(key: SessionKey, record: SessionRecord, title: string): Promise<void> {
    await this.redis.hsetnx(this.keys.projects(key), projectRefOf(record) + TITLE_FIELD, title);
  }

  /** Drops the least recently active projects beyond `max` (and any expired), before a new one is listed. */
  async pruneProjects(key: SessionKey, max = MAX_PROJECTS - 1): Promise<void> {
    const all = await this.redis.hgetall(this.keys.projects(key));
    const keep = new Set(
      Object.entries(all)
        .filter(([field]) => !field.includes('#'))
        .map(([ref, raw]) => ({ ref, record: parseStored(raw, SessionRecordSchema) }))
        .filter((entry) => entry.record !== undefined && this.fresh(entry.record))
        .sort((a, b) => (b.record?.updatedAt ?? 0) - (a.record?.updatedAt ?? 0))
        .slice(0, max)
        .map((entry) => entry.ref),
    );
    const drop = Object.keys(all).filter((field) => !keep.has(field.split('#')[0] ?? field));
    if (drop.length > 0) await this.redis.hdel(this.keys.projects(key), ...drop);
  }

  private async save(key: SessionKey, record: SessionRecord, current: boolean): Promise<boolean> {
    const valid = SessionRecordSchema.parse(record);
    // The listing leaves the draft out: it can be large, and a switched-to project reads it from the service.
    const { lastDraft: _draft, ...listed } = valid;
    const result = await runScript(
      this.redis,
      PROJECT_WRITE,
      [this.sessionKey(key), this.keys.projects(key)],
      [JSON.stringify(valid), JSON.stringify(listed), projectRefOf(valid), valid.sessionId, this.ttlSeconds, current ? '1' : '0'],
    );
    return result === 1;
  }

  /** A project untouched for the session TTL is gone, as its current record would be. */
  private fresh(record: SessionRecord): boolean {
    return Date.now() - record.updatedAt < this.ttlSeconds * 1000;
  }

  /**
   * The lease on creating a project for `keyId`: the one caller whose `take` gets it creates the
   * project, then releases it; the others wait for the record it writes.
   */
  creationClaim(keyId: string, leaseMs: number): Lease {
    return new Lease(this.redis, this.keys.creating(keyId), leaseMs);
  }

  /**
   * The read renews the identity's TTL in the same round trip (GET and EXPIRE in one
   * transaction, which any Redis BullMQ accepts runs): a person who keeps talking keeps their
   * client id, one who left is forgotten with their sessions.
   */
  async readIdentity(platform: Platform, userId: string): Promise<UserIdentity | undefined> {
    const key = this.identityKey(platform, userId);
    const results = await this.redis.multi().get(key).expire(key, this.ttlSeconds).exec();
    const [readError, raw] = results?.[0] ?? [new Error('the identity read was discarded'), null];
    if (readError) throw readError;
    const stored = parseStored(raw as string | null, UserIdentitySchema);
    if (!stored?.token) return stored;
    if (isSealed(stored.token)) {
      const token = this.open(stored.token);
      // A token sealed with another key (or none now) is useless: a new one is fetched for the same client id.
      if (token === undefined) return withoutAnonymousToken(stored);
      return { ...stored, token };
    }
    // Written in clear by an older version: sealed at once, unless another process wrote it meanwhile.
    if (this.cipher) await this.redis.eval(RESEAL, 1, key, raw as string, this.serialize(stored), this.ttlSeconds);
    return stored;
  }

  /** The anonymous token is sealed here; `personalToken` arrives sealed from `/login`. */
  async writeIdentity(platform: Platform, userId: string, identity: UserIdentity): Promise<void> {
    await this.redis.set(this.identityKey(platform, userId), this.serialize(identity), 'EX', this.ttlSeconds);
  }

  private serialize(identity: UserIdentity): string {
    const valid = UserIdentitySchema.parse(identity);
    return JSON.stringify(valid.token && this.cipher ? { ...valid, token: this.cipher.encrypt(valid.token) } : valid);
  }

  private open(sealed: string): string | undefined {
    try {
      return this.cipher?.decrypt(sealed);
    } catch {
      return undefined;
    }
  }

  private sessionKey(key: SessionKey): string {
    return this.keys.session(key);
  }

  private identityKey(platform: Platform, userId: string): string {
    return this.keys.identity(platform, userId);
  }
}

function info(record: SessionRecord, title: string | null | undefined, exports: string | null | undefined): ProjectInfo {
  const count = Number(exports ?? 0);
  return { record, ...(title ? { title } : {}), exports: Number.isSafeInteger(count) && count > 0 ? count : 0 };
}

function withoutAnonymousToken(identity: UserIdentity): UserIdentity {
  const { token: _token, tokenExpiresAt: _expires, ...rest } = identity;
  return rest;
}

