import type { ChatAddress, Outbox, Platform, PrivateReply, SendOptions, VideoFile } from '../../src/core/types.js';

/**
 * A platform that only counts: the engine's cost is measured without a terminal, a socket or
 * a growing transcript in the way. The last text is kept so a run can check it answered
 * what it should, not an error reply.
 */
export class CountingOutbox implements Outbox {
  sent = 0;
  edited = 0;
  videos = 0;
  lastText = '';

  constructor(readonly platform: Platform) {}

  sendText(_to: ChatAddress, text: string, _options?: SendOptions): Promise<string> {
    this.sent += 1;
    this.lastText = text;
    return Promise.resolve(`m${this.sent}`);
  }

  editText(_to: ChatAddress, _messageId: string, text: string): Promise<void> {
    this.edited += 1;
    this.lastText = text;
    return Promise.resolve();
  }

  sendVideo(_to: ChatAddress, video: VideoFile): Promise<string | undefined> {
    this.videos += 1;
    // Nobody reads the file here: release the download instead of leaving it half-open.
    video.stream.destroy();
    return Promise.resolve(undefined);
  }

  maxUploadBytes(_to: ChatAddress): number {
    return 50 * 1024 * 1024;
  }

  isShared(_to: ChatAddress): boolean {
    return false;
  }

  async sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    await this.sendText(to, reply.text);
  }

  /** Everything posted so far: sends, edits and videos. */
  get posts(): number {
    return this.sent + this.edited + this.videos;
  }
}
