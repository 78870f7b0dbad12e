import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BUTTON_ACTIONS } from './commands.js';
import type { ButtonPlatform, RedisKeys } from './redis-keys.js';
import type { SessionKey } from './session-store.js';
import type { Button } from './types.js';

export type ButtonAction = Button['action'];

/**
 * A row an older version stored in Redis, one key per answer (read until those keys expire;
 * nothing writes them any more).
 */
export const ButtonRecordSchema = z.object({
  ownerId: z.string(),
  chatId: z.string(),
  threadId: z.string().optional(),
  actions: z.array(z.enum(BUTTON_ACTIONS)),
  createdAt: z.number(),
  projectRef: z.string().optional(),
});
export type ButtonRecord = z.infer<typeof ButtonRecordSchema>;

/** What a row of buttons is posted for: whose project, where, and which project (its session id). */
export interface ButtonRow {
  ownerId: string;
  chatId: string;
  threadId?: string | undefined;
  /** The session id of the project the buttons act on. */
  project: string;
}

/** Where the owner's project lives: the session store's `read`. */
export interface ProjectLookup {
  read(key: SessionKey): Promise<{ sessionId: string } | undefined>;
}

/** An old button's data, understood: the row key it names and (for rows of several) its action. */
export interface LegacyButtonRef {
  rowId: string;
  action?: ButtonAction;
}

export interface ButtonStoreOptions {
  /** Whose buttons these are (the session key's platform; the legacy rows' key family). */
  platform: ButtonPlatform;
  /** Starts every button's data (`p`, `nvp`): the platform's buttons and no one else's. */
  scheme: string;
  /** The platform's limit on a button's data, in UTF-8 bytes (Telegram 64, Discord 100). */
  maxDataBytes: number;
  projects: ProjectLookup;
  /** Reads the data of buttons an older version posted (`b:<row>:<action>`, `nvb:<row>:<action>`). */
  legacyData?: (data: string) => LegacyButtonRef | undefined;
  /** Reads legacy rows stored in an even older shape. */
  legacyRecord?: z.ZodType<ButtonRecord>;
}

/** Where a press acts: the owner's project in the chat (and thread) the row was posted in. */
export interface ButtonTarget {
  ownerId: string;
  chatId: string;
  threadId?: string;
  /** The session id the row was posted for; absent for legacy rows (they act on the current project). */
  project?: string;
}

/** What a press means: act, or why not. */
export type ButtonPress =
  | { kind: 'act'; action: ButtonAction; target: ButtonTarget }
  | { kind: 'expired' }
  | { kind: 'elsewhere' }
  | { kind: 'not-yours'; ownerId: string };

/** Base64url characters of the project reference and of the chat tag in a button's data. */
const PROJECT_REF_CHARS = 8;
const CHAT_TAG_CHARS = 4;
const ID_PART = /^[A-Za-z0-9_-]{1,24}$/;
const LEGACY_ROW_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** The 8-character reference of a project in a button: a hash of its session id, the same in every process. */
export function projectRef(sessionId: string): string {
  return digest(`project\n${sessionId}`, PROJECT_REF_CHARS);
}

/** Which chat (and thread) a button was posted in, in 4 characters: a press elsewhere is told so. */
function chatTag(chatId: string, threadId: string | undefined): string {
  return digest(`chat\n${chatId}\n${threadId ?? ''}`, CHAT_TAG_CHARS);
}

function digest(text: string, chars: number): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, chars);
}

/**
 * Buttons that carry their own meaning: `<prefix>:<action>:<owner>:<project ref><chat tag>[:<thread>]`.
 * Nothing is stored per button; a press is checked against the owner's project record in the
 * chat it comes from, so a button works after restarts, on any replica, for as long as the
 * project lives, and a forged or stale one does nothing.
 */
export class ButtonStore {
  private readonly pattern: RegExp;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly options: ButtonStoreOptions,
  ) {
    this.pattern = new RegExp(
      `^${escapeRegExp(options.scheme)}:(${BUTTON_ACTIONS.join('|')}):([A-Za-z0-9_-]{1,24}):([A-Za-z0-9_-]{${PROJECT_REF_CHARS}})([A-Za-z0-9_-]{${CHAT_TAG_CHARS}})(?::([A-Za-z0-9_-]{1,24}))?$`,
    );
  }

  /** The data of one button of `row`, or undefined when the ids do not fit the platform's limit. */
  encode(row: ButtonRow, action: ButtonAction): string | undefined {
    if (!ID_PART.test(row.ownerId) || (row.threadId !== undefined && !ID_PART.test(row.threadId))) return undefined;
    const thread = row.threadId === undefined ? '' : `:${row.threadId}`;
    const data = `${this.options.scheme}:${action}:${row.ownerId}:${projectRef(row.project)}${chatTag(row.chatId, row.threadId)}${thread}`;
    return Buffer.byteLength(data) <= this.options.maxDataBytes ? data : undefined;
  }

  /** Whether `data` is this platform's button data, of now or of an older version. */
  recognizes(data: string): boolean {
    return this.pattern.test(data) || this.options.legacyData?.(data) !== undefined;
  }

  /**
   * A press by `by` (in chat `by.chatId`, undefined when the platform did not say) of a button
   * carrying `data`. Only the owner may press, only in the chat it was posted in, only while
   * the project it names is still theirs there.
   */
  async press(data: string, by: { userId: string; chatId: string | undefined }): Promise<ButtonPress> {
    const match = this.pattern.exec(data);
    if (!match) return this.pressLegacy(data, by);
    const [, action, ownerId, ref, tag, threadId] = match as unknown as [string, ButtonAction, string, string, string, string | undefined];
    if (by.chatId === undefined || chatTag(by.chatId, threadId) !== tag) return { kind: 'elsewhere' };
    if (by.userId !== ownerId) return { kind: 'not-yours', ownerId };
    const session = await this.options.projects.read({ platform: this.options.platform, chatId: by.chatId, userId: ownerId });
    if (session === undefined || projectRef(session.sessionId) !== ref) return { kind: 'expired' };
    return { kind: 'act', action, target: { ownerId, chatId: by.chatId, ...(threadId === undefined ? {} : { threadId }), project: session.sessionId } };
  }

  /** A row of an older version, read from its key while it lives. */
  private async pressLegacy(data: string, by: { userId: string; chatId: string | undefined }): Promise<ButtonPress> {
    const ref = this.options.legacyData?.(data);
    const record = ref === undefined ? undefined : await this.readLegacy(ref.rowId);
    const chosen = ref?.action ?? (record?.actions.length === 1 ? record.actions[0] : undefined);
    if (record === undefined || chosen === undefined || !record.actions.includes(chosen)) return { kind: 'expired' };
    if (by.chatId !== record.chatId) return { kind: 'elsewhere' };
    if (by.userId !== record.ownerId) return { kind: 'not-yours', ownerId: record.ownerId };
    return { kind: 'act', action: chosen, target: { ownerId: record.ownerId, chatId: record.chatId, ...(record.threadId === undefined ? {} : { threadId: record.threadId }) } };
  }

  /** A legacy row, or undefined when it expired, never existed or is not a row. */
  async readLegacy(rowId: string): Promise<ButtonRecord | undefined> {
    if (!LEGACY_ROW_ID.test(rowId)) return undefined;
    const raw = await this.redis.get(this.keys.button(this.options.platform, rowId));
    if (raw === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = ButtonRecordSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    const old = this.options.legacyRecord?.safeParse(value);
    return old?.success ? old.data : undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
