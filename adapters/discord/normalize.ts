import type { Attachment as DiscordFile, ButtonInteraction, ChatInputCommandInteraction, Message } from 'discord.js';
import type { Attachment, ChatAddress, IncomingMessage } from '../../src/core/types.js';
import type { DiscordExtra } from './address.js';
import { discordAttachment, type DownloadOptions } from './attachments.js';
import type { ButtonAction } from './button-store.js';

export interface NormalizeOptions {
  /** The bot's own user id: its mentions are stripped, replies to it count as addressed. */
  botUserId: string;
  /** Every guild message is for the bot (the operator enabled the MessageContent intent). */
  freeTextInGuilds: boolean;
  /** How long an interaction token is used after the interaction was created (Discord: 15 min). */
  interactionTokenTtlMs: number;
  download: DownloadOptions;
  now?: () => number;
}

/** A channel or DM message; `addressed` says whether the bot should answer it. */
export function fromMessage(message: Message, options: NormalizeOptions): IncomingMessage {
  const inGuild = message.guildId !== null;
  const mentioned = message.mentions.users.has(options.botUserId);
  const repliedToBot = message.mentions.repliedUser?.id === options.botUserId;
  const addressed = !inGuild || mentioned || repliedToBot || options.freeTextInGuilds;
  const extra: DiscordExtra = message.guildId === null ? {} : { guildId: message.guildId };
  const address = addressOf(message.channelId, message.author.id, message.channel.isThread(), extra);
  return {
    platform: 'discord',
    chatId: address.chatId,
    userId: address.userId,
    ...(address.threadId === undefined ? {} : { threadId: address.threadId }),
    text: stripMention(message.content, options.botUserId),
    attachments: [...message.attachments.values()].map((file) => attachmentOf(file, options)),
    addressed,
    // A DM is private: `/login` is accepted only there.
    chatKind: inGuild ? 'group' : 'private',
    address,
  };
}

/** A slash command: `/video prompt file` becomes the prompt and the file; the others `/<name>`. */
export function fromCommand(interaction: ChatInputCommandInteraction, options: NormalizeOptions): IncomingMessage {
  if (interaction.commandName === 'video') {
    const prompt = interaction.options.getString('prompt') ?? '';
    const file = interaction.options.getAttachment('file');
    return fromInteraction(interaction, prompt, file === null ? [] : [attachmentOf(file, options)], options);
  }
  return fromInteraction(interaction, `/${interaction.commandName}`, [], options);
}

/** A pressed button: the action as its command. */
export function fromButton(interaction: ButtonInteraction, action: ButtonAction, options: NormalizeOptions): IncomingMessage {
  return fromInteraction(interaction, `/${action}`, [], options);
}

function fromInteraction(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  text: string,
  attachments: Attachment[],
  options: NormalizeOptions,
): IncomingMessage {
  const now = options.now?.() ?? Date.now();
  // The token's life counts from the interaction's creation, not from when it reached us.
  const createdAt = Math.min(interaction.createdTimestamp, now);
  const extra: DiscordExtra = {
    ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }),
    interactionToken: interaction.token,
    interactionExpiresAt: createdAt + options.interactionTokenTtlMs,
    applicationId: interaction.applicationId,
    ...(typeof interaction.attachmentSizeLimit === 'number' && interaction.attachmentSizeLimit > 0
      ? { uploadLimit: interaction.attachmentSizeLimit }
      : {}),
  };
  const channelId = interaction.channelId ?? '';
  const address = addressOf(channelId, interaction.user.id, interaction.channel?.isThread() ?? false, extra);
  return {
    platform: 'discord',
    chatId: address.chatId,
    userId: address.userId,
    ...(address.threadId === undefined ? {} : { threadId: address.threadId }),
    platformLanguage: interaction.locale,
    text,
    attachments,
    addressed: true,
    chatKind: interaction.guildId === null ? 'private' : 'group',
    address,
  };
}

/** In a thread the thread is the chat (its own session), and replies go into it. */
function addressOf(channelId: string, userId: string, inThread: boolean, extra: DiscordExtra): ChatAddress {
  const clean = Object.fromEntries(Object.entries(extra).filter(([, value]) => value !== undefined)) as Record<string, string | number>;
  return {
    platform: 'discord',
    chatId: channelId,
    userId,
    ...(inThread ? { threadId: channelId } : {}),
    ...(Object.keys(clean).length > 0 ? { extra: clean } : {}),
  };
}

function attachmentOf(file: DiscordFile, options: NormalizeOptions): Attachment {
  return discordAttachment({ name: file.name, url: file.url, size: file.size, contentType: file.contentType }, options.download);
}

/** `<@123> make a video` → `make a video`. */
export function stripMention(content: string, botUserId: string): string {
  return content.replace(new RegExp(`<@!?${botUserId}>`, 'g'), ' ').replace(/[ \t]+/g, ' ').trim();
}
