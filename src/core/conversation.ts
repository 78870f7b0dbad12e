import type { Logger } from 'pino';
import type { ChatReply } from './chat-reply.js';
import type { UserCredentials } from './credentials.js';
import type { SessionKey, SessionRecord } from './session-store.js';
import type { Language } from './types.js';

/** One person in one chat, as the engine sees them while handling a message. */
export interface Conversation {
  key: SessionKey;
  lang: Language;
  reply: ChatReply;
  cred: UserCredentials;
  log: Logger;
  /** The inbox entry of the message being handled, if the adapter kept one. */
  inboxId?: string | undefined;
  /** The session record, read right after this turn took the lock: the next `project` call uses it instead of reading again. */
  prefetched?: Promise<SessionRecord | undefined> | undefined;
  /** The project this message works on, once known: the messages posted for it are mapped to it. */
  projectRef?: string | undefined;
  /** The message is about the account, not a project (credits, stats, login): its answers are not mapped. */
  accountOnly?: boolean | undefined;
}
