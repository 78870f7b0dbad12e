import type { Logger } from 'pino';
import type { z } from 'zod';
import { detectLanguage, t } from './i18n.js';
import type { Inbox } from './inbox.js';
import type { ChatAddress } from './types.js';

/** What an adapter supplies: how to read its kept entries back, how to hand one on again, and its outbox. */
export interface IntakeOptions<P> {
  inbox: Inbox;
  /** The adapter's inbox ids start with this (`telegram:`, `discord:`); the sweep takes only these. */
  idPrefix: string;
  logger: Logger;
  /** An error as a log field, without secrets (each platform's describer). */
  describeError: (error: unknown) => unknown;
  /** Entries read back from Redis are checked like any input; one that does not validate is dropped. */
  payload: z.ZodType<P>;
  /** Hands a dead process's entry on again (normally through `handOff`). */
  resume: (payload: P, inboxId: string) => Promise<void> | void;
  /** The outbox: how the person is told their message failed. */
  sendText: (to: ChatAddress, text: string) => Promise<unknown>;
}

/** Who to tell, in which language, when a hand-off fails. */
export interface HandOffTarget {
  address: ChatAddress;
  /** The platform's language hint and the message's words, for `detectLanguage`. */
  language?: string | undefined;
  text?: string | undefined;
}

/** A first sight: `inboxId` is set only when the message really was kept in the inbox. */
export interface Admission {
  inboxId?: string;
}

/**
 * One way in for every platform: admit (seen mark and inbox entry in one Redis step), hand off to
 * the engine without awaiting it in a listener, tell the person when that fails, release the
 * entry, and take over a dead process's entries. The adapter supplies normalize-in and the outbox.
 */
export class Intake<P> {
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: IntakeOptions<P>) {}

  /**
   * Undefined when another process or session saw `seenKey` first. On a Redis failure the message
   * still goes on (better a rare duplicate than a person left without an answer), but without an
   * inbox id: nothing was kept, so nothing may be released or claimed under it.
   */
  async admit(seenKey: string, ttlSeconds: number, entry?: { id: string; payload: P }): Promise<Admission | undefined> {
    try {
      if (!(await this.options.inbox.admit(seenKey, ttlSeconds, entry))) {
        this.options.logger.debug({ inboxId: entry?.id }, 'already taken by another session: ignored');
        return undefined;
      }
      return entry ? { inboxId: entry.id } : {};
    } catch (error) {
      this.options.logger.warn({ err: this.options.describeError(error) }, 'inbox unavailable: handing the message over without it');
      return {};
    }
  }

  /**
   * Runs `work` (the engine's whole turn) in the background; a failure is logged and told to the
   * person. The entry is released here, and only here, whatever happened, so no process handles
   * it again; `afterwards` (best-effort tidying after a success) runs once it is released.
   */
  handOff(work: () => Promise<void>, target: HandOffTarget, inboxId: string | undefined, afterwards?: () => Promise<void>): void {
    let done = false;
    const run = Promise.resolve()
      .then(work)
      .then(() => (done = true))
      .catch(async (error: unknown) => {
        this.options.logger.error({ err: this.options.describeError(error), chatId: target.address.chatId }, 'message hand-off failed');
        const lang = detectLanguage(target.language, target.text ?? '');
        await this.options.sendText(target.address, t(lang, 'somethingWrong')).catch(() => undefined);
      })
      .then(() => (inboxId === undefined ? undefined : this.release(inboxId)))
      .then(() => (done && afterwards ? afterwards().catch(() => undefined) : undefined));
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
  }

  /** Best effort: an entry left behind is handled again by a sweep, never lost. */
  async release(inboxId: string): Promise<void> {
    await this.options.inbox.release(inboxId).catch(() => undefined);
  }

  /** Takes over the entries of dead processes and hands each on again; unreadable ones are dropped. */
  async sweep(): Promise<void> {
    const { inbox, idPrefix, logger, payload, resume } = this.options;
    for (const entry of await inbox.claimOrphans(idPrefix)) {
      const parsed = payload.safeParse(entry.payload);
      if (!parsed.success) {
        // Paths only: the values may hold a token.
        logger.error({ inboxId: entry.id, issues: parsed.error.issues.map((issue) => issue.path.join('.')) }, 'a kept message of an unexpected shape: dropped');
        await this.release(entry.id);
        continue;
      }
      logger.warn({ inboxId: entry.id }, 'handling a message a stopped process had taken');
      await resume(parsed.data, entry.id);
    }
  }

  get busy(): boolean {
    return this.inflight.size > 0;
  }

  /** Resolves once no handed-off message is still being handled. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}
