import { describeError } from '../lib/describe-error.js';
import type { ClipPreview } from './clip-previews.js';
import { t } from './i18n.js';
import type { ChatAddress, Language, Outbox, SendOptions } from './types.js';

/** An answer whose `text` may hold a link for one person: `publicText` is what a shared chat may read. */
export interface ReplyText {
  text: string;
  /** Set when `text` holds a personal link: the answer without it. */
  publicText?: string | undefined;
}

/** Where a failed progress step is noted; the engine passes the conversation's logger. */
export interface ReplyLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * Replies into one chat, with one progress message that is edited in place instead of
 * posting a new line for every step. Progress is best effort: a failed edit or send is
 * logged and never reaches the turn, so the agent's stream is read to its end and the
 * answer (sent with `send`) still goes out.
 */
export class ChatReply {
  private progressId: string | undefined;
  private progressText: string | undefined;

  constructor(
    private readonly outbox: Outbox,
    readonly address: ChatAddress,
    readonly lang: Language,
    private readonly logger?: ReplyLogger,
  ) {
    this.progressId = address.progressMessageId;
  }

  send(text: string, options?: SendOptions): Promise<string> {
    return this.outbox.sendText(this.address, text, options);
  }

  /** `text` holds a link for this person alone: a shared chat reads `publicText` and where the link went. */
  sendPrivate(text: string, publicText?: string): Promise<void> {
    return this.outbox.sendPrivate(this.address, { kind: 'private-link', text, ...(publicText === undefined ? {} : { publicText }), language: this.lang });
  }

  /** A generated clip before export: a player where the platform can, else its link. Never throws. */
  async preview(clip: ClipPreview): Promise<void> {
    const caption = t(this.lang, 'clipPreview');
    try {
      if (this.outbox.sendClipPreview) {
        await this.outbox.sendClipPreview(this.address, {
          url: clip.url,
          caption,
          ...(clip.sizeBytes === undefined ? {} : { sizeBytes: clip.sizeBytes }),
          ...(clip.durationSec === undefined ? {} : { durationSec: clip.durationSec }),
        });
      } else {
        await this.outbox.sendText(this.address, `${caption}\n${clip.url}`);
      }
    } catch (error) {
      this.logger?.warn({ err: describeError(error), platform: this.address.platform }, 'clip preview could not be sent');
    }
  }

  /** An answer that may hold a personal link (an error's registration link). */
  async answer(reply: ReplyText): Promise<void> {
    if (reply.publicText === undefined) await this.send(reply.text);
    else await this.sendPrivate(reply.text, reply.publicText);
  }

  /**
   * Shows `text` in the progress message, sending it the first time. Never throws: when an
   * edit fails (the message was deleted, is too old, the platform answered 5xx), the message
   * is forgotten and the next step goes out as a new one.
   */
  async progress(text: string): Promise<string | undefined> {
    if (this.progressId !== undefined) {
      if (this.progressText === text) return this.progressId;
      try {
        await this.outbox.editText(this.address, this.progressId, text);
        this.progressText = text;
        return this.progressId;
      } catch (error) {
        this.logger?.warn({ err: describeError(error), platform: this.address.platform }, 'progress edit failed: the next step goes as a new message');
        this.progressId = undefined;
        this.progressText = undefined;
        return undefined;
      }
    }
    try {
      this.progressId = await this.outbox.sendText(this.address, text);
      this.progressText = text;
    } catch (error) {
      this.logger?.warn({ err: describeError(error), platform: this.address.platform }, 'progress message could not be sent');
    }
    return this.progressId;
  }

  /** Closes the progress message, if one is showing, with `text`: a failure must not leave "Working on it…". */
  async endProgress(text: string): Promise<void> {
    if (this.progressId !== undefined) await this.progress(text);
  }
}
