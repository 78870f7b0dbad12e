import type { ChannelRecord, FakeDiscordState } from './state.js';
import type { FakeMessage, FakeUser } from './types.js';

/** Discord's wire shapes (API v10), built from the fake's records. */

export function userPayload(user: FakeUser): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    global_name: user.bot ? null : user.username,
    discriminator: '0',
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
    public_flags: 0,
  };
}

export function memberPayload(user: FakeUser): Record<string, unknown> {
  return {
    user: userPayload(user),
    roles: [],
    joined_at: new Date(0).toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
  };
}

export function channelPayload(channel: ChannelRecord): Record<string, unknown> {
  if (channel.type === 1) {
    return { id: channel.id, type: 1, last_message_id: null, flags: 0, recipients: channel.recipient ? [userPayload(channel.recipient)] : [] };
  }
  const base = { id: channel.id, type: channel.type, guild_id: channel.guildId, name: channel.name, flags: 0, nsfw: false };
  if (channel.type === 11) {
    return {
      ...base,
      parent_id: channel.parentId,
      owner_id: '0',
      message_count: 0,
      member_count: 1,
      rate_limit_per_user: 0,
      thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
    };
  }
  return { ...base, position: 0, permission_overwrites: [], parent_id: null, topic: null, last_message_id: null, rate_limit_per_user: 0 };
}

export function guildCreatePayload(state: FakeDiscordState): Record<string, unknown> {
  const channels = [...state.channels.values()].filter((c) => c.guildId === state.guildId && c.type === 0).map(channelPayload);
  const threads = [...state.channels.values()].filter((c) => c.guildId === state.guildId && c.type === 11).map(channelPayload);
  return {
    id: state.guildId,
    name: 'Test Guild',
    icon: null,
    owner_id: state.users.alice.id,
    unavailable: false,
    member_count: 3,
    large: false,
    joined_at: new Date(0).toISOString(),
    preferred_locale: 'en-US',
    features: [],
    roles: [{ id: state.guildId, name: '@everyone', permissions: '1071698660929', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
    emojis: [],
    stickers: [],
    channels,
    threads,
    members: [memberPayload(state.botUser)],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    premium_tier: 0,
    system_channel_flags: 0,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
  };
}

/** A message as the API and the gateway show it; `contentVisible: false` as without MESSAGE_CONTENT. */
export function messagePayload(state: FakeDiscordState, message: FakeMessage, contentVisible = true): Record<string, unknown> {
  const channel = state.channels.get(message.channelId);
  const replied = message.replyTo === undefined ? undefined : state.messagesById.get(message.replyTo);
  const mentions = [...(message.mentionsBot ? [state.botUser] : []), ...(replied ? [replied.author] : [])];
  return {
    id: message.id,
    channel_id: message.channelId,
    ...(channel?.guildId ? { guild_id: channel.guildId } : {}),
    author: userPayload(message.author),
    content: contentVisible ? message.content : '',
    timestamp: new Date(message.createdAt).toISOString(),
    edited_timestamp: message.history.length > 1 ? new Date().toISOString() : null,
    tts: false,
    mention_everyone: false,
    mentions: mentions.map(userPayload),
    mention_roles: [],
    attachments: !contentVisible
      ? []
      : (state.userAttachments.get(message.id) ?? message.files.map((file, index) => ({ id: `${message.id}${index}`, filename: file.filename, size: file.size, url: `${state.baseUrl}/attachments/${message.channelId}/${message.id}/${file.filename}`, proxy_url: '', content_type: file.contentType }))),
    embeds: [],
    pinned: false,
    type: replied ? 19 : message.via === 'interaction' ? 20 : 0,
    flags: (message.ephemeral ? 64 : 0) | (message.loading ? 128 : 0),
    components: contentVisible ? message.components : [],
    ...(message.nonce !== undefined ? { nonce: message.nonce } : {}),
    ...(message.via === 'interaction' ? { webhook_id: state.applicationId, application_id: state.applicationId } : {}),
    ...(replied ? { message_reference: { type: 0, message_id: replied.id, channel_id: replied.channelId }, referenced_message: messagePayload(state, replied) } : {}),
  };
}
