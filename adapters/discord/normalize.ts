import {
  ComponentType,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type Attachment as DiscordFile,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Message,
  type ModalSubmitInteraction,
} from 'discord.js';
import { z } from 'zod';
import { ChatAddressSchema } from '../../src/core/session-store.js';
import { slashCommand } from '../../src/core/commands.js';
import type { ChatAddress, IncomingMessage } from '../../src/core/types.js';
import type { DiscordExtra } from './address.js';
import { AttachmentMetaSchema, discordAttachment, type AttachmentMeta, type DownloadOptions } from './attachments.js';
import { pressAsMessage, type ButtonAction, type ButtonTarget } from '../../src/core/button-store.js';
import type { Language } from '../../src/core/types.js';
import { dt } from './texts.js';

export interface NormalizeOptions {
  /** The bot's own user id: its mentions are stripped, replies to it count as addressed. */
  botUserId: string;
  /** Every guild message is for the bot (the operator enabled the MessageContent intent). */
  freeTextInGuilds: boolean;
  /** How long an interaction token is used after the interaction was created (Discord: 15 min). */
  interactionTokenTtlMs: number;
  download: DownloadOptions;
  now?: () => number;
  /** An interaction's channel when discord.js lost it (the server sent `channel_id` without a `channel` object). */
  channelId?: string;
}

/**
 * A message, command or button press reduced to what the engine needs: plain JSON, so it can
 * wait in the inbox and be handed to the engine again by another process.
 */
export const NormalizedMessageSchema = z.object({
  address: ChatAddressSchema.extend({ platform: z.literal('discord') }),
  /** The user's language as Discord reports it (interactions only). */
  platformLanguage: z.string().optional(),
  text: z.string(),
  files: z.array(AttachmentMetaSchema),
  addressed: z.boolean(),
  chatKind: z.enum(['private', 'group']),
  /** A channel message's id: a guild `/login` with a token is deleted by it. */
  messageId: z.string().optional(),
  /** The bot's message this one replies to (or a "Continue this project" names): a reply continues its project. */
  replyToMessageId: z.string().optional(),
  /** From "Continue this project": someone else's project is refused, not just left alone. */
  continuesProject: z.boolean().optional(),
  /** A pressed button's project (its reference): it becomes the current one first. */
  forProject: z.string().optional(),
  /** The interaction was answered ephemerally: only its sender sees the exchange (`/video` with `/login …`). */
  ephemeral: z.boolean().optional(),
});
export type NormalizedMessage = z.infer<typeof NormalizedMessageSchema>;

export interface IncomingExtras {
  /** Deletes a channel message (the outbox's, with the bot token); rejects without Manage Messages. */
  deleteMessage?: (channelId: string, messageId: string) => Promise<void>;
}

/** The engine's message: the files get an `open()` that streams them from the CDN. */
export function toIncomingMessage(message: NormalizedMessage, download: DownloadOptions, extras: IncomingExtras = {}): IncomingMessage {
  const { address, messageId } = message;
  const { deleteMessage } = extras;
  // Only in a guild: nobody but the person reads a DM, and Discord lets no bot delete a person's DM.
  const deletable = message.chatKind === 'group' && messageId !== undefined && deleteMessage !== undefined;
  return {
    ...(deletable ? { deleteOriginal: () => deleteMessage(address.chatId, messageId) } : {}),
    ...(message.ephemeral === true ? { seenOnlyBySender: true } : {}),
    platform: 'discord',
    chatId: address.chatId,
    userId: address.userId,
    ...(address.threadId === undefined ? {} : { threadId: address.threadId }),
    ...(message.platformLanguage === undefined ? {} : { platformLanguage: message.platformLanguage }),
    text: message.text,
    ...(message.replyToMessageId === undefined ? {} : { replyToMessageId: message.replyToMessageId }),
    ...(message.continuesProject === true ? { continuesProject: true } : {}),
    ...(message.forProject === undefined ? {} : { forProject: message.forProject }),
    attachments: message.files.map((file) => discordAttachment(file, download)),
    addressed: message.addressed,
    chatKind: message.chatKind,
    address,
  };
}

/** A channel or DM message, as plain JSON; `addressed` says whether the bot should answer it. */
export function normalizeMessage(message: Message, options: NormalizeOptions): NormalizedMessage {
  const inGuild = message.guildId !== null;
  const mentioned = message.mentions.users.has(options.botUserId);
  const repliedToBot = message.mentions.repliedUser?.id === options.botUserId;
  const extra: DiscordExtra = message.guildId === null ? {} : { guildId: message.guildId };
  const replyTo = repliedToBot ? message.reference?.messageId : undefined;
  return {
    ...(replyTo === undefined || replyTo === null ? {} : { replyToMessageId: replyTo }),
    address: addressOf(message.channelId, message.author.id, message.channel.isThread(), extra),
    text: stripMention(message.content, options.botUserId),
    files: [...message.attachments.values()].map(metaOf),
    addressed: !inGuild || mentioned || repliedToBot || options.freeTextInGuilds,
    // A DM is private: `/login` is accepted only there.
    chatKind: inGuild ? 'group' : 'private',
    messageId: message.id,
  };
}

/**
 * A slash command as plain JSON. One with a `text` option (the table's `/video`) is its words and
 * its file, routed like a typed message; the others are `/<name>`.
 */
export function normalizeCommand(interaction: ChatInputCommandInteraction, options: NormalizeOptions): NormalizedMessage {
  const spec = slashCommand(interaction.commandName);
  const words = spec?.options.find((option) => option.kind === 'text');
  if (spec && words) {
    const prompt = interaction.options.getString(words.name) ?? '';
    const files = spec.options.flatMap((option) => {
      const file = option.kind === 'file' ? interaction.options.getAttachment(option.name) : null;
      return file === null ? [] : [metaOf(file)];
    });
    const normalized = normalizeInteraction(interaction, prompt, files, options);
    // A token typed into the prompt: the whole exchange stays between the person and the bot.
    return isLogin(prompt) ? { ...normalized, ephemeral: true } : normalized;
  }
  return normalizeInteraction(interaction, `/${interaction.commandName}`, [], options);
}

/** A pressed button, as plain JSON: the action as its command. */
export function normalizeButton(interaction: ButtonInteraction, action: ButtonAction, target: ButtonTarget, options: NormalizeOptions): NormalizedMessage {
  const { text, forProject } = pressAsMessage(action, target);
  return { ...normalizeInteraction(interaction, text, [], options), ...(forProject === undefined ? {} : { forProject }) };
}

const CONTINUE_PREFIX = 'continue:';
const INSTRUCTION = 'instruction';
// As long as `/video`'s prompt may be.
const MAX_INSTRUCTION_CHARS = 4000;

/** The "Continue this project" modal for the bot's message `messageId`: one paragraph input. */
export function continueModal(messageId: string, lang: Language): APIModalInteractionResponseCallbackData {
  return {
    custom_id: `${CONTINUE_PREFIX}${messageId}`,
    title: dt(lang, 'continueTitle'),
    components: [
      {
        type: ComponentType.ActionRow,
        components: [
          {
            type: ComponentType.TextInput,
            custom_id: INSTRUCTION,
            style: TextInputStyle.Paragraph,
            label: dt(lang, 'continueLabel'),
            placeholder: dt(lang, 'continuePlaceholder'),
            required: true,
            min_length: 1,
            max_length: MAX_INSTRUCTION_CHARS,
          },
        ],
      },
    ],
  };
}

/** The message id a "Continue this project" modal was opened on; undefined for any other modal. */
export function parseContinueModalId(customId: string): string | undefined {
  if (!customId.startsWith(CONTINUE_PREFIX)) return undefined;
  const id = customId.slice(CONTINUE_PREFIX.length);
  return /^\d{1,25}$/.test(id) ? id : undefined;
}

/** The submitted modal, as plain JSON: its instruction, explicitly for the project of message `targetId`. */
export function normalizeContinue(interaction: ModalSubmitInteraction, targetId: string, options: NormalizeOptions): NormalizedMessage {
  const text = interaction.fields.getTextInputValue(INSTRUCTION);
  return { ...normalizeInteraction(interaction, text, [], options), replyToMessageId: targetId, continuesProject: true };
}

function normalizeInteraction(
  interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
  text: string,
  files: AttachmentMeta[],
  options: NormalizeOptions,
): NormalizedMessage {
  const now = options.now?.() ?? Date.now();
  // The token's life counts from the interaction's creation, not from when it reached us.
  const createdAt = Math.min(interaction.createdTimestamp, now);
  const extra: DiscordExtra = {
    ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }),
    // The token itself goes to `InteractionTokens`, which forgets it when it expires.
    interactionId: interaction.id,
    interactionExpiresAt: createdAt + options.interactionTokenTtlMs,
    applicationId: interaction.applicationId,
    ...(typeof interaction.attachmentSizeLimit === 'number' && interaction.attachmentSizeLimit > 0
      ? { uploadLimit: interaction.attachmentSizeLimit }
      : {}),
  };
  // '' when the interaction named no channel: the outbox then answers through the interaction only.
  const channelId = interaction.channelId ?? options.channelId ?? '';
  return {
    address: addressOf(channelId, interaction.user.id, interaction.channel?.isThread() ?? false, extra),
    platformLanguage: interaction.locale,
    text,
    files,
    addressed: true,
    chatKind: interaction.guildId === null ? 'private' : 'group',
  };
}

/** In a thread the thread is the chat (its own session), and replies go into it. */
function addressOf(channelId: string, userId: string, inThread: boolean, extra: DiscordExtra): ChatAddress & { platform: 'discord' } {
  const clean = Object.fromEntries(Object.entries(extra).filter(([, value]) => value !== undefined)) as Record<string, string | number>;
  return {
    platform: 'discord',
    chatId: channelId,
    userId,
    ...(inThread ? { threadId: channelId } : {}),
    ...(Object.keys(clean).length > 0 ? { extra: clean } : {}),
  };
}

function metaOf(file: DiscordFile): AttachmentMeta {
  return { name: file.name, url: file.url, size: file.size, contentType: file.contentType };
}

/** `/login …` (or `/login@bot …`), as the router reads it. */
export function isLogin(text: string): boolean {
  return /^\s*\/login(?:@[A-Za-z0-9_]+)?(?:\s|$)/i.test(text);
}

/** `<@123> make a video` → `make a video`. */
export function stripMention(content: string, botUserId: string): string {
  return content.replace(new RegExp(`<@!?${botUserId}>`, 'g'), ' ').replace(/[ \t]+/g, ' ').trim();
}
