import { createHash } from 'node:crypto';
import {
  ButtonStyle,
  ComponentType,
  RESTEvents,
  Routes,
  makeURLSearchParams,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIMessage,
  type REST,
} from 'discord.js';
import type { Logger } from 'pino';
import { FileTooLargeForPlatformError, type Button, type ChatAddress, type Outbox, type SendOptions, type VideoFile } from '../../src/core/types.js';
import { discordExtra, liveInteraction, type LiveInteraction } from './address.js';
import { buttonCustomId, type ButtonStore } from './button-store.js';
import { describeDiscordError, isInvalidInteractionToken, isTooLarge, isUneditable } from './discord-errors.js';
import { createDiscordRest } from './discord-rest.js';
import { decodeMessageRef, encodeMessageRef } from './message-ref.js';
import { multipartUpload } from './multipart-upload.js';
import { splitText, truncateText } from './split-text.js';

export interface DiscordOutboxOptions {
  /** The bot token: every channel post uses it; interaction calls carry no Authorization. */
  token: string;
  /** `DISCORD_API_URL`. */
  apiUrl: string;
  /** `DISCORD_MAX_UPLOAD_MB` in bytes: the limit when the interaction did not say. */
  maxUploadBytes: number;
  logger: Logger;
  /** Where button rows are saved; without it, buttons are left out. */
  buttons?: ButtonStore;
  /** Per request (default 15 s); uploads get `uploadTimeoutMs` (default 10 min). */
  requestTimeoutMs?: number;
  uploadTimeoutMs?: number;
  /** Told of every 429 from Discord's API (the platform-429 metric). */
  onRateLimited?: () => void;
}

type MessageBody = {
  content: string;
  allowed_mentions: { parse: [] };
  components?: APIActionRowComponent<APIButtonComponent>[];
  nonce?: string;
  enforce_nonce?: boolean;
};

// Discord keeps at most 5 buttons in a row.
const MAX_BUTTONS_PER_ROW = 5;
// Deferrals never answered (a turn that failed silently) are pruned past this many.
const MAX_UNFILLED = 10_000;

/**
 * Posts into Discord from an address alone, REST only (no gateway), so the bot and the render
 * worker both use it. While an interaction token lives, replies go through the interaction
 * (the first one fills the reply the bot deferred); afterwards, and for messages, with the bot token
 * into the channel or thread. A video always goes with the bot token.
 */
export class DiscordOutbox implements Outbox {
  readonly platform = 'discord' as const;
  private readonly rest: REST;
  private readonly uploads: REST;
  private readonly log: Logger;
  /**
   * Interactions this process deferred and whose "thinking…" reply no answer has filled yet.
   * Another process (a worker) never finds one here and posts a follow-up instead: it cannot
   * overwrite an answer it does not know about.
   */
  private readonly unfilled = new Map<string, number>();

  constructor(private readonly options: DiscordOutboxOptions) {
    this.rest = createDiscordRest({ token: options.token, apiUrl: options.apiUrl, timeoutMs: options.requestTimeoutMs ?? 15_000 });
    this.uploads = createDiscordRest({ token: options.token, apiUrl: options.apiUrl, timeoutMs: options.uploadTimeoutMs ?? 600_000 });
    this.log = options.logger.child({ component: 'discord-outbox' });
    const onRateLimited = options.onRateLimited;
    if (onRateLimited) {
      // discord.js waits out 429s itself; the metric still counts them.
      const count = (_request: unknown, response: { status: number }) => {
        if (response.status === 429) onRateLimited();
      };
      this.rest.on(RESTEvents.Response, count);
      this.uploads.on(RESTEvents.Response, count);
    }
  }

  async sendText(to: ChatAddress, text: string, options?: SendOptions): Promise<string> {
    const pieces = splitText(text.trim() === '' ? '…' : text);
    const components = options?.buttons?.length ? await this.buttonRows(to, options.buttons) : undefined;
    let lastId = '';
    for (const [index, piece] of pieces.entries()) {
      const last = index === pieces.length - 1;
      lastId = await this.post(to, { content: piece, allowed_mentions: { parse: [] }, ...(last && components ? { components } : {}) });
    }
    return lastId;
  }

  async editText(to: ChatAddress, messageId: string, text: string): Promise<void> {
    const ref = decodeMessageRef(messageId);
    const content = truncateText(text.trim() === '' ? '…' : text);
    if (ref.via === 'interaction') {
      const live = liveInteraction(to);
      if (live !== undefined) {
        try {
          await this.rest.patch(Routes.webhookMessage(live.applicationId, live.token, ref.id), { body: { content }, auth: false });
          return;
        } catch (error) {
          const failure = describeDiscordError(error);
          if (!isInvalidInteractionToken(failure)) throw failure;
          this.log.info({ err: failure }, 'interaction token refused for an edit: continuing in the channel');
        }
      }
      // An expired token cannot edit the interaction's messages any more.
      await this.replace(to, ref.id, content);
      return;
    }
    try {
      await this.rest.patch(Routes.channelMessage(to.chatId, ref.id), { body: { content } });
    } catch (error) {
      const failure = describeDiscordError(error);
      if (!isUneditable(failure)) throw failure;
      this.log.info({ err: failure }, 'progress message cannot be edited: posting its successor');
      await this.replace(to, ref.id, content);
    }
  }

  async sendVideo(to: ChatAddress, video: VideoFile): Promise<void> {
    const limit = this.maxUploadBytes(to);
    if (video.size > limit) {
      video.stream.destroy();
      throw new FileTooLargeForPlatformError('discord', video.size);
    }
    const payload = {
      content: truncateText(video.caption),
      allowed_mentions: { parse: [] },
      attachments: [{ id: 0, filename: video.filename }],
      // A retried delivery (a worker killed after Discord took the file) gets the first message back.
      nonce: nonceFor('v', video.deliveryId),
      enforce_nonce: true,
    };
    const body = multipartUpload(payload, { name: video.filename, contentType: 'video/mp4', size: video.size, stream: video.stream });
    try {
      await this.uploads.post(Routes.channelMessages(to.chatId), { body, passThroughBody: true });
    } catch (error) {
      const failure = describeDiscordError(error, 'POST /channels/:id/messages');
      if (isTooLarge(failure)) throw new FileTooLargeForPlatformError('discord', video.size);
      throw failure;
    } finally {
      if (!video.stream.destroyed) video.stream.destroy();
    }
  }

  maxUploadBytes(to: ChatAddress): number {
    return discordExtra(to).uploadLimit ?? this.options.maxUploadBytes;
  }

  /** One message, through the live interaction when there is one, else into the channel. */
  private async post(to: ChatAddress, body: MessageBody): Promise<string> {
    const live = liveInteraction(to);
    if (live !== undefined) {
      try {
        return await this.postThroughInteraction(live, body);
      } catch (error) {
        const failure = describeDiscordError(error);
        if (!isInvalidInteractionToken(failure)) throw failure;
        this.log.info({ err: failure }, 'interaction token refused: posting into the channel');
      }
    }
    try {
      const message = (await this.rest.post(Routes.channelMessages(to.chatId), { body })) as APIMessage;
      return encodeMessageRef({ via: 'channel', id: message.id });
    } catch (error) {
      throw describeDiscordError(error);
    }
  }

  private async postThroughInteraction(live: LiveInteraction, body: MessageBody): Promise<string> {
    let message: APIMessage;
    if (this.claimOriginal(live)) {
      // The deferred "thinking…" reply becomes the first answer.
      message = (await this.rest.patch(Routes.webhookMessage(live.applicationId, live.token, '@original'), { body, auth: false })) as APIMessage;
    } else {
      message = (await this.rest.post(Routes.webhook(live.applicationId, live.token), {
        body,
        auth: false,
        query: makeURLSearchParams({ wait: true }),
      })) as APIMessage;
    }
    return encodeMessageRef({ via: 'interaction', id: message.id });
  }

  /**
   * The bot deferred this interaction: the next reply fills its deferred message. Called right
   * after the deferral, before the engine sees the message.
   */
  noteDeferred(to: ChatAddress): void {
    const live = liveInteraction(to);
    if (live === undefined) return;
    const now = Date.now();
    if (this.unfilled.size > MAX_UNFILLED) {
      for (const [token, expiresAt] of this.unfilled) if (expiresAt <= now) this.unfilled.delete(token);
    }
    this.unfilled.set(live.token, live.expiresAt);
  }

  /** True once per deferral: the caller fills the deferred reply. */
  private claimOriginal(live: LiveInteraction): boolean {
    return this.unfilled.delete(live.token);
  }

  /**
   * Shows an edit of a message that can no longer be edited as a channel message, from the
   * address alone: the nonce (derived from the old message id) makes Discord hand back the
   * successor posted by an earlier edit, which is then edited in place.
   */
  private async replace(to: ChatAddress, oldId: string, content: string): Promise<void> {
    try {
      const body: MessageBody = { content, allowed_mentions: { parse: [] }, nonce: nonceFor('e', oldId), enforce_nonce: true };
      const message = (await this.rest.post(Routes.channelMessages(to.chatId), { body })) as APIMessage;
      if (message.content !== content) {
        await this.rest.patch(Routes.channelMessage(to.chatId, message.id), { body: { content } });
      }
    } catch (error) {
      throw describeDiscordError(error);
    }
  }

  private async buttonRows(to: ChatAddress, buttons: Button[]): Promise<APIActionRowComponent<APIButtonComponent>[] | undefined> {
    if (this.options.buttons === undefined) {
      this.log.debug('no button store: sending the text without buttons');
      return undefined;
    }
    const shown = buttons.slice(0, MAX_BUTTONS_PER_ROW);
    const rowId = await this.options.buttons.save({ ownerId: to.userId, chatId: to.chatId, actions: shown.map((b) => b.action) });
    return [
      {
        type: ComponentType.ActionRow,
        components: shown.map((button) => ({
          type: ComponentType.Button,
          style: button.action === 'export' ? ButtonStyle.Primary : ButtonStyle.Secondary,
          label: button.label.slice(0, 80),
          custom_id: buttonCustomId(rowId, button.action),
        })),
      },
    ];
  }
}

/** At most 25 characters, as Discord allows for a nonce. */
function nonceFor(kind: 'v' | 'e', id: string): string {
  if (/^\d{1,20}$/.test(id)) return `${kind}${id}`;
  return `${kind}${createHash('sha256').update(id).digest('base64url').slice(0, 24)}`;
}
