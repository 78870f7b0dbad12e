import type { ChatAddress, Outbox, Platform, PrivateReply, SendOptions, VideoFile } from '../../../src/core/types.js';

/** One message the bot posted, with every text it had (edits included). */
export interface RecordedMessage {
  id: string;
  chatId: string;
  userId: string;
  /** First text, then each edit. */
  history: string[];
  buttons: string[];
  /** Global order of the send, across chats. */
  seq: number;
}

/**
 * An outbox that only records, for tests that drive the engine for many people at once and
 * need to see, per chat, every message and edit.
 */
export class RecordingOutbox implements Outbox {
  readonly messages: RecordedMessage[] = [];
  readonly videos: Array<{ chatId: string; deliveryId: string; bytes: number }> = [];
  private readonly byId = new Map<string, RecordedMessage>();
  private seq = 0;

  constructor(readonly platform: Platform) {}

  async sendText(to: ChatAddress, text: string, options?: SendOptions): Promise<string> {
    const id = `m${++this.seq}`;
    const message: RecordedMessage = {
      id,
      chatId: to.chatId,
      userId: to.userId,
      history: [text],
      buttons: (options?.buttons ?? []).map((button) => button.action),
      seq: this.seq,
    };
    this.messages.push(message);
    this.byId.set(id, message);
    return id;
  }

  async editText(_to: ChatAddress, messageId: string, text: string): Promise<void> {
    const message = this.byId.get(messageId);
    if (!message) throw new Error(`edit of an unknown message ${messageId}`);
    if (message.history.at(-1) !== text) message.history.push(text);
  }

  async sendVideo(to: ChatAddress, video: VideoFile): Promise<string | undefined> {
    let bytes = 0;
    for await (const chunk of video.stream as AsyncIterable<Buffer>) bytes += chunk.length;
    this.videos.push({ chatId: to.chatId, deliveryId: video.deliveryId, bytes });
    return undefined;
  }

  maxUploadBytes(): number {
    return 50 * 1024 * 1024;
  }

  isShared(): boolean {
    return false;
  }

  async sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    await this.sendText(to, reply.text);
  }

  inChat(chatId: string): RecordedMessage[] {
    return this.messages.filter((message) => message.chatId === chatId);
  }
}
