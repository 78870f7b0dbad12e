import { createHash } from 'node:crypto';
import {
  ButtonStyle,
  ComponentType,
  RESTEvents,
  Routes,
  makeURLSearchParams,
  type APIActionRowComponent,
  type APIButtonComponent,
  type REST,
} from 'discord.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { t } from '../../src/core/i18n.js';
import { FileTooLargeForPlatformError, type Button, type ChatAddress, type Language, type Outbox, type PrivateReply, type SendOptions, type VideoFile } from '../../src/core/types.js';
import { discordExtra, interactionRef, type LiveInteraction } from './address.js';
import { InteractionTokens } from './interaction-tokens.js';
import type { ButtonStore } from '../../src/core/button-store.js';
import { DiscordRequestError, asDiscordRequestError, describeDiscordError, isInvalidInteractionToken, isTooLarge, isUneditable, withAnswer } from './discord-errors.js';
import { createDiscordRest } from './discord-rest.js';
import { decodeMessageRef, encodeMessageRef } from './message-ref.js';
import { multipartUpload } from './multipart-upload.js';
import { splitText, truncateText } from './split-text.js';
import { dt } from './texts.js';

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
  /** Where interaction tokens live for their 15 minutes; default: this process's memory only. */
  interactions?: InteractionTokens;
}

const NO_PINGS = { parse: [] as [] };

type MessageBody = {
  content: string;
  flags?: number;
  allowed_mentions: typeof NO_PINGS;
  components?: APIActionRowComponent<APIButtonComponent>[];
  nonce?: string;
  enforce_nonce?: boolean;
};

const EPHEMERAL = 64;
// "Cannot send messages to this user": the person accepts no DMs from the bot (server privacy settings).
const DM_REFUSED = 50007;

/** How a direct message went. */
type DirectOutcome = 'sent' | 'refused' | 'failed';

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
  readonly interactions: InteractionTokens;

  constructor(private readonly options: DiscordOutboxOptions) {
    this.interactions = options.interactions ?? new InteractionTokens();
    this.rest = createDiscordRest({ token: options.token, apiUrl: options.apiUrl, timeoutMs: options.requestTimeoutMs ?? 15_000 });
    // No retry of a refused upload: the stream is spent, and discord.js would only resend nothing.
    this.uploads = createDiscordRest({ token: options.token, apiUrl: options.apiUrl, timeoutMs: options.uploadTimeoutMs ?? 600_000, retries: 0 });
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
    const components = options?.buttons?.length ? this.buttonRows(to, options.buttons, options.project) : undefined;
    let lastId = '';
    for (const [index, piece] of pieces.entries()) {
      const last = index === pieces.length - 1;
      lastId = await this.post(to, { content: piece, allowed_mentions: NO_PINGS, ...(last && components ? { components } : {}) });
    }
    return lastId;
  }

  async editText(to: ChatAddress, messageId: string, text: string): Promise<void> {
    const ref = decodeMessageRef(messageId);
    const content = truncateText(text.trim() === '' ? '…' : text);
    if (ref.id === '') {
      // The server did not say which message it made: there is nothing to edit.
      this.log.debug('no message id to edit: the edit is skipped');
      return;
    }
    // Edits may carry user text (a file name): they must not ping either.
    const body = { content, allowed_mentions: NO_PINGS };
    if (ref.via === 'interaction') {
      const live = await this.interactions.find(to);
      if (live !== undefined) {
        try {
          await this.rest.patch(Routes.webhookMessage(live.applicationId, live.token, ref.id), { body, auth: false });
          return;
        } catch (error) {
          const failure = asDiscordRequestError(error);
          if (isInvalidInteractionToken(failure)) this.log.info({ err: describeDiscordError(failure) }, 'interaction token refused for an edit: continuing in the channel');
          else if (isUneditable(failure)) this.log.info({ err: describeDiscordError(failure) }, 'the interaction message is gone: posting its successor in the channel');
          else throw failure;
        }
      }
      // An expired token cannot edit the interaction's messages any more.
      await this.replace(to, ref.id, content);
      return;
    }
    try {
      await this.rest.patch(Routes.channelMessage(to.chatId, ref.id), { body });
    } catch (error) {
      const failure = asDiscordRequestError(error);
      if (!isUneditable(failure)) throw failure;
      this.log.info({ err: describeDiscordError(failure) }, 'progress message cannot be edited: posting its successor');
      await this.replace(to, ref.id, content);
    }
  }

  async sendVideo(to: ChatAddress, video: VideoFile): Promise<void> {
    const limit = this.maxUploadBytes(to);
    if (video.size > limit) {
      video.stream.destroy();
      throw new FileTooLargeForPlatformError('discord', video.size);
    }
    if (to.chatId === '') {
      video.stream.destroy();
      throw noChannel('POST /channels/:id/messages');
    }
    const payload = {
      content: truncateText(video.caption),
      allowed_mentions: NO_PINGS,
      attachments: [{ id: 0, filename: video.filename, ...(video.description === undefined ? {} : { description: video.description }) }],
      // A retried delivery (a worker killed after Discord took the file) gets the first message back.
      nonce: nonceFor('v', video.deliveryId),
      enforce_nonce: true,
    };
    const body = multipartUpload(payload, { name: video.filename, contentType: 'video/mp4', size: video.size, stream: video.stream });
    try {
      await this.uploads.post(Routes.channelMessages(to.chatId), { body, passThroughBody: true });
    } catch (error) {
      const failure = asDiscordRequestError(error, 'POST /channels/:id/messages');
      if (isTooLarge(failure)) throw new FileTooLargeForPlatformError('discord', video.size);
      // The stream was sent once and is not sent again (a new delivery opens a new one): say what Discord answered.
      const refused = body.answer === undefined ? failure : withAnswer(failure, body.answer);
      this.log.warn({ err: refused }, 'Discord refused the video upload');
      throw refused;
    } finally {
      if (!video.stream.destroyed) video.stream.destroy();
    }
  }

  maxUploadBytes(to: ChatAddress): number {
    return discordExtra(to).uploadLimit ?? this.options.maxUploadBytes;
  }

  /** A guild channel or thread; a DM has no guild. */
  isShared(to: ChatAddress): boolean {
    return discordExtra(to).guildId !== undefined;
  }

  /**
   * In a guild: an ephemeral follow-up while the interaction lives, else a DM; the channel reads
   * only the public part and where the link went (or that DMs are closed), never the link.
   */
  async sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    if (!this.isShared(to)) {
      await this.sendText(to, reply.text);
      return;
    }
    const lang = reply.language;
    const live = await this.interactions.find(to);
    if (live !== undefined) {
      // Discord makes the first follow-up after a deferral fill the deferred reply, as visible as it: fill it first.
      const shown = withNote(reply.publicText, dt(lang, 'linkShownToYou'));
      const fillFirst = this.unfilled.has(live.id);
      const noteId = fillFirst ? await this.sendText(to, shown) : undefined;
      if (await this.ephemeral(live, reply.text)) {
        if (!fillFirst) await this.sendText(to, shown);
        return;
      }
      if (noteId !== undefined) {
        const outcome = await this.direct(to.userId, reply.text);
        // The deferred reply said "only you can see": it is corrected to where the link went.
        const corrected = withNote(reply.publicText, directNote(lang, outcome));
        if (splitText(shown).length === 1 && splitText(corrected).length === 1) await this.editText(to, noteId, corrected);
        else await this.sendText(to, directNote(lang, outcome));
        return;
      }
    }
    const outcome = await this.direct(to.userId, reply.text);
    await this.sendText(to, withNote(reply.publicText, directNote(lang, outcome)));
  }

  /** Follow-ups only the person sees; false when the interaction refused them. */
  private async ephemeral(live: LiveInteraction, text: string): Promise<boolean> {
    try {
      for (const piece of splitText(text)) {
        await this.rest.post(Routes.webhook(live.applicationId, live.token), {
          body: { content: piece, flags: EPHEMERAL, allowed_mentions: NO_PINGS },
          auth: false,
          query: makeURLSearchParams({ wait: true }),
        });
      }
      return true;
    } catch (error) {
      this.log.info({ err: describeDiscordError(error) }, 'ephemeral follow-up refused: sending a DM instead');
      return false;
    }
  }

  /** A DM (`POST /users/@me/channels`, then the message). */
  private async direct(userId: string, text: string): Promise<DirectOutcome> {
    try {
      const channel = DmChannelSchema.parse(await this.rest.post(Routes.userChannels(), { body: { recipient_id: userId } }));
      for (const piece of splitText(text)) {
        await this.rest.post(Routes.channelMessages(channel.id), { body: { content: piece, allowed_mentions: NO_PINGS } });
      }
      return 'sent';
    } catch (error) {
      const failure = asDiscordRequestError(error);
      if (failure.discordCode === DM_REFUSED) return 'refused';
      this.log.warn({ err: describeDiscordError(failure) }, 'a direct message failed');
      return 'failed';
    }
  }

  /** Deletes a message in a channel (a `/login` with a token); rejects when the bot may not (50013). */
  async deleteMessage(channelId: string, messageId: string): Promise<void> {
    try {
      await this.rest.delete(Routes.channelMessage(channelId, messageId));
    } catch (error) {
      throw asDiscordRequestError(error, 'DELETE /channels/:id/messages/:id');
    }
  }

  /** One message, through the live interaction when there is one, else into the channel. */
  private async post(to: ChatAddress, body: MessageBody): Promise<string> {
    const live = await this.interactions.find(to);
    if (live !== undefined) {
      try {
        return await this.postThroughInteraction(live, body);
      } catch (error) {
        const failure = asDiscordRequestError(error);
        if (isInvalidInteractionToken(failure)) this.log.info({ err: describeDiscordError(failure) }, 'interaction token refused: posting into the channel');
        // The deferred reply was deleted (10008): the answer still goes out, in the channel.
        else if (isUneditable(failure)) this.log.info({ err: describeDiscordError(failure) }, 'the interaction reply is gone: posting into the channel');
        else throw failure;
      }
    }
    if (to.chatId === '') throw noChannel('POST /channels/:id/messages');
    let answer: unknown;
    try {
      answer = await this.rest.post(Routes.channelMessages(to.chatId), { body });
    } catch (error) {
      throw asDiscordRequestError(error);
    }
    return encodeMessageRef({ via: 'channel', id: this.messageId(answer) });
  }

  private async postThroughInteraction(live: LiveInteraction, body: MessageBody): Promise<string> {
    let answer: unknown;
    if (this.claimOriginal(live)) {
      // The deferred "thinking…" reply becomes the first answer.
      answer = await this.rest.patch(Routes.webhookMessage(live.applicationId, live.token, '@original'), { body, auth: false });
    } else {
      answer = await this.rest.post(Routes.webhook(live.applicationId, live.token), {
        body,
        auth: false,
        query: makeURLSearchParams({ wait: true }),
      });
    }
    return encodeMessageRef({ via: 'interaction', id: this.messageId(answer) });
  }

  /**
   * The id of the message Discord answered with. A server that answers something else (it
   * still posted the message) gets '' : that message is never edited, later text is sent anew.
   */
  private messageId(answer: unknown): string {
    const parsed = MessageAnswerSchema.safeParse(answer);
    if (parsed.success) return parsed.data.id;
    this.log.warn('Discord answered a post without a message id: that message will not be edited');
    return '';
  }

  /**
   * The bot deferred this interaction: the next reply fills its deferred message. Called right
   * after the deferral, before the engine sees the message.
   */
  noteDeferred(to: ChatAddress): void {
    const ref = interactionRef(to);
    if (ref === undefined) return;
    const now = Date.now();
    if (this.unfilled.size > MAX_UNFILLED) {
      for (const [id, expiresAt] of this.unfilled) if (expiresAt <= now) this.unfilled.delete(id);
    }
    this.unfilled.set(ref.id, ref.expiresAt);
  }

  /**
   * The engine let a deferred interaction go without a word (a flood or access refusal is said
   * once, then silence): its "thinking…" reply is removed rather than left for 15 minutes.
   */
  async dropUnfilled(to: ChatAddress): Promise<void> {
    const ref = interactionRef(to);
    if (ref === undefined || !this.unfilled.delete(ref.id)) return;
    try {
      const live = await this.interactions.find(to);
      if (live !== undefined) await this.rest.delete(Routes.webhookMessage(live.applicationId, live.token, '@original'), { auth: false });
    } catch (error) {
      this.log.info({ err: describeDiscordError(error) }, 'an unanswered deferred reply could not be removed');
    }
  }

  /** True once per deferral: the caller fills the deferred reply. */
  private claimOriginal(live: LiveInteraction): boolean {
    return this.unfilled.delete(live.id);
  }

  /**
   * Shows an edit of a message that can no longer be edited as a channel message, from the
   * address alone: the nonce (derived from the old message id) makes Discord hand back the
   * successor posted by an earlier edit, which is then edited in place.
   */
  private async replace(to: ChatAddress, oldId: string, content: string): Promise<void> {
    if (to.chatId === '') throw noChannel('POST /channels/:id/messages');
    try {
      const body: MessageBody = { content, allowed_mentions: NO_PINGS, nonce: nonceFor('e', oldId), enforce_nonce: true };
      const answer = await this.rest.post(Routes.channelMessages(to.chatId), { body });
      const successor = MessageAnswerSchema.safeParse(answer);
      if (successor.success && successor.data.content !== content) {
        await this.rest.patch(Routes.channelMessage(to.chatId, successor.data.id), { body: { content, allowed_mentions: NO_PINGS } });
      }
    } catch (error) {
      const failure = asDiscordRequestError(error);
      // The successor is gone too: this progress step is lost, the answers are sent as new messages anyway.
      if (isUneditable(failure)) {
        this.log.info({ err: describeDiscordError(failure) }, 'the successor message cannot be edited either: this progress step is skipped');
        return;
      }
      throw failure;
    }
  }

  /** Each button names its action, owner and project: nothing is stored for it. */
  private buttonRows(to: ChatAddress, buttons: Button[], project: string | undefined): APIActionRowComponent<APIButtonComponent>[] | undefined {
    const store = this.options.buttons;
    if (store === undefined || project === undefined) {
      this.log.debug('no button store or no project to name: sending the text without buttons');
      return undefined;
    }
    const shown = buttons.slice(0, MAX_BUTTONS_PER_ROW);
    const target = { ownerId: to.userId, chatId: to.chatId, project };
    const components: APIButtonComponent[] = [];
    for (const button of shown) {
      const customId = store.encode(target, button.action);
      if (customId === undefined) {
        this.log.warn('button data would not fit custom_id: sending the text without buttons');
        return undefined;
      }
      components.push({
        type: ComponentType.Button,
        style: button.action === 'export' ? ButtonStyle.Primary : ButtonStyle.Secondary,
        label: button.label.slice(0, 80),
        custom_id: customId,
      });
    }
    return [{ type: ComponentType.ActionRow, components }];
  }
}

/** Where the link went, for the channel. */
function directNote(lang: Language, outcome: DirectOutcome): string {
  if (outcome === 'sent') return t(lang, 'linkSentPrivately');
  return dt(lang, outcome === 'refused' ? 'dmRefused' : 'dmFailed');
}

/** The channel's part of a private reply: its public words, then where the link went. */
function withNote(publicText: string | undefined, note: string): string {
  return publicText === undefined || publicText.trim() === '' ? note : `${publicText}\n\n${note}`;
}

const DmChannelSchema = z.object({ id: z.string().regex(/^\d{1,20}$/) });

/** The part of Discord's message answer the outbox reads. */
const MessageAnswerSchema = z.object({ id: z.string().regex(/^\d{1,20}$/), content: z.string().optional() });

/** An interaction that named no channel: once its token is gone, there is nowhere to post. */
function noChannel(route: string): DiscordRequestError {
  return new DiscordRequestError(route, undefined, undefined, 'the interaction named no channel: there is nowhere to post with the bot token');
}

/** At most 25 characters, as Discord allows for a nonce. */
function nonceFor(kind: 'v' | 'e', id: string): string {
  if (/^\d{1,20}$/.test(id)) return `${kind}${id}`;
  return `${kind}${createHash('sha256').update(id).digest('base64url').slice(0, 24)}`;
}
