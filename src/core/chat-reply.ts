import type { ChatAddress, Language, Outbox, SendOptions } from './types.js';

/**
 * Replies into one chat, with one progress message that is edited in place instead of
 * posting a new line for every step.
 */
export class ChatReply {
  private progressId: string | undefined;
  private progressText: string | undefined;

  constructor(
    private readonly outbox: Outbox,
    readonly address: ChatAddress,
    readonly lang: Language,
  ) {
    this.progressId = address.progressMessageId;
  }

  send(text: string, options?: SendOptions): Promise<string> {
    return this.outbox.sendText(this.address, text, options);
  }

  /** Shows `text` in the progress message, sending it the first time. */
  async progress(text: string): Promise<string> {
    if (this.progressId === undefined) {
      this.progressId = await this.outbox.sendText(this.address, text);
    } else if (this.progressText !== text) {
      await this.outbox.editText(this.address, this.progressId, text);
    }
    this.progressText = text;
    return this.progressId;
  }

  /** Closes the progress message, if one was sent, with `text`: a failure must not leave "Working on it…". */
  async endProgress(text: string): Promise<void> {
    if (this.progressId !== undefined) await this.progress(text);
  }

  /** Forgets the progress message so the next step starts a new one (a new turn). */
  resetProgress(): void {
    this.progressId = undefined;
    this.progressText = undefined;
  }
}
