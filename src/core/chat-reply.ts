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
 * posting a new line for every step. The typing indicator shows at once; the progress message
 * is posted only when no answer came within `progressDelayMs`, so a quick answer is one post.
 * Progress and typing are best effort: a failed edit or send is logged and never reaches the
 * turn, so the agent's stream is read to its end and the answer (sent with `send`) still goes out.
 */
export class ChatReply {
  private progressId: string | undefined;
  private progressText: string | undefined;
  /** The newest progress text not shown yet: posted when the delay runs out without an answer. */
  private pendingText: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The progress message being posted: later steps and the answer wait for it, so order holds. */
  private posting: Promise<void> | undefined;
  private finished = false;
  /** One line for a person met for the first time, appended to the next answer (see `welcomeNext`). */
  private welcome: string | undefined;

  constructor(
    private readonly outbox: Outbox,
    readonly address: ChatAddress,
    readonly lang: Language,
    private readonly logger?: ReplyLogger,
    private readonly progressDelayMs = 0,
    /** Told each message id the platform confirmed (the message → project map); never throws into a reply. */
    private readonly onPosted?: (messageId: string) => Promise<void>,
  ) {
    this.progressId = address.progressMessageId;
  }

  /** The platform's typing indicator, at once and without waiting: a failure is only logged. */
  typing(): void {
    const show = this.outbox.showTyping;
    if (!show) return;
    show.call(this.outbox, this.address).catch((error: unknown) => {
      this.logger?.warn({ err: describeError(error), platform: this.address.platform }, 'typing indicator failed');
    });
  }

  /** `line` goes under the next answer (unless `takeWelcome` took it first). */
  welcomeNext(line: string): void {
    this.welcome = line;
  }

  /** The welcome line still waiting, now said some other way: it is not appended any more. */
  takeWelcome(): string | undefined {
    const line = this.welcome;
    this.welcome = undefined;
    return line;
  }

  /** An answer: a progress step not shown yet is dropped, the answer is the one post. */
  async send(text: string, options?: SendOptions): Promise<string> {
    await this.beforeAnswer();
    const welcome = this.takeWelcome();
    const id = await this.outbox.sendText(this.address, welcome === undefined ? text : `${text}\n\n${welcome}`, options);
    this.posted(id);
    return id;
  }

  /**
   * Not awaited: the write rides along with the turn's closing writes (no round trip of its own,
   * issue 14); commands on one connection run in order, so a later lookup here sees it.
   */
  private posted(messageId: string): void {
    if (!this.onPosted) return;
    this.onPosted(messageId).catch((error: unknown) => {
      this.logger?.warn({ err: describeError(error), platform: this.address.platform }, 'could not note which project a message belongs to');
    });
  }

  /** `text` holds a link for this person alone: a shared chat reads `publicText` and where the link went. */
  async sendPrivate(text: string, publicText?: string): Promise<void> {
    await this.beforeAnswer();
    return this.outbox.sendPrivate(this.address, { kind: 'private-link', text, ...(publicText === undefined ? {} : { publicText }), language: this.lang });
  }

  /** A generated clip before export: a player where the platform can, else its link. Never throws. */
  async preview(clip: ClipPreview): Promise<void> {
    // Content, as the answer is: a progress step not shown yet is not posted between them.
    await this.beforeAnswer();
    const caption = t(this.lang, 'clipPreview');
    try {
      if (this.outbox.sendClipPreview) {
        const id = await this.outbox.sendClipPreview(this.address, {
          url: clip.url,
          caption,
          ...(clip.sizeBytes === undefined ? {} : { sizeBytes: clip.sizeBytes }),
          ...(clip.durationSec === undefined ? {} : { durationSec: clip.durationSec }),
        });
        this.posted(id);
      } else {
        this.posted(await this.outbox.sendText(this.address, `${caption}\n${clip.url}`));
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
   * Shows `text` in the progress message: edited when one is showing; else, with a delay set,
   * kept until the delay runs out (a quick answer makes it moot), then posted. Never throws:
   * when an edit fails (the message was deleted, is too old, the platform answered 5xx), the
   * message is forgotten and the next step goes out as a new one.
   */
  async progress(text: string): Promise<string | undefined> {
    if (this.posting) await this.posting;
    if (this.progressId === undefined && this.progressDelayMs > 0 && !this.finished) {
      this.pendingText = text;
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.posting = this.postPending().finally(() => (this.posting = undefined));
        }, this.progressDelayMs);
        this.timer.unref();
      }
      return undefined;
    }
    return this.show(text);
  }

  /** A closing status (e.g. "uploaded"): edits the progress message when one shows, else posts it. */
  async status(text: string): Promise<void> {
    this.cancelPending();
    if (this.posting) await this.posting;
    if (this.progressId !== undefined && (await this.show(text)) !== undefined) return;
    await this.send(text);
  }

  /** Closes the progress message, if one is showing, with `text`: a failure must not leave "Working on it…". */
  async endProgress(text: string): Promise<void> {
    this.cancelPending();
    if (this.posting) await this.posting;
    if (this.progressId !== undefined) await this.show(text);
  }

  /** The work is over: a progress step still waiting for its delay is never posted. */
  finish(): void {
    this.finished = true;
    this.cancelPending();
  }

  private async beforeAnswer(): Promise<void> {
    this.cancelPending();
    if (this.posting) await this.posting;
  }

  private cancelPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pendingText = undefined;
  }

  private async postPending(): Promise<void> {
    const text = this.pendingText;
    this.pendingText = undefined;
    if (text !== undefined && !this.finished) await this.show(text);
  }

  private async show(text: string): Promise<string | undefined> {
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
      this.posted(this.progressId);
    } catch (error) {
      this.logger?.warn({ err: describeError(error), platform: this.address.platform }, 'progress message could not be sent');
    }
    return this.progressId;
  }
}
