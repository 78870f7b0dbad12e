import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FakeGateway, Intents } from './gateway.js';
import { channelPayload, memberPayload, messagePayload, userPayload } from './payloads.js';
import { handleRequest } from './rest.js';
import { snowflake } from './snowflake.js';
import { FakeDiscordState, newMessage, storedFile } from './state.js';
import type { FakeDiscord, FakeDiscordOptions, FakeInteraction, FakeUser, InteractionChannel, UserFile } from './types.js';

export * from './types.js';
export { Intents } from './gateway.js';

const APP_PERMISSIONS = '2248473465835073';

/** Starts a fake Discord (REST API, gateway, attachment CDN) on 127.0.0.1. */
export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const state = new FakeDiscordState(`http://127.0.0.1:${port}`, options);
  const gateway = new FakeGateway(state);
  server.on('request', (req, res) => void handleRequest(state, gateway, req, res));
  server.on('upgrade', (req, socket, head) => gateway.upgrade(req, socket, head));

  const requireBot = (): void => {
    if (!gateway.hasReadySession()) throw new Error('fake Discord: no bot is connected to the gateway');
  };

  const commandFor = (channelId: string, name: string) => {
    const channel = state.channels.get(channelId);
    const scoped = channel?.guildId ? (state.commands.guild.get(channel.guildId) ?? []) : [];
    const command = [...scoped, ...state.commands.global].find((candidate) => candidate.name === name);
    if (!command) throw new Error(`fake Discord: /${name} is not registered where channel ${channelId} is`);
    return command;
  };

  const newInteraction = (kind: FakeInteraction['kind'], name: string, user: FakeUser, channelId: string): FakeInteraction => {
    const id = snowflake();
    const channel = state.channels.get(channelId);
    if (!channel) throw new Error(`fake Discord: unknown channel ${channelId}`);
    const interaction: FakeInteraction = {
      id,
      // Real tokens are "interaction:<id>:<secret>" in base64url, about 200 characters.
      token: Buffer.from(`interaction:${id}:${randomBytes(120).toString('base64url')}`).toString('base64url'),
      kind,
      name,
      userId: user.id,
      channelId,
      ...(channel.guildId ? { guildId: channel.guildId } : {}),
      createdAt: Date.now(),
      followupIds: [],
    };
    state.interactions.set(id, interaction);
    return interaction;
  };

  const interactionPayload = (
    interaction: FakeInteraction,
    user: FakeUser,
    locale: string | undefined,
    body: Record<string, unknown>,
    naming: InteractionChannel = 'object',
  ) => {
    const channel = state.channels.get(interaction.channelId);
    return {
      id: interaction.id,
      application_id: state.applicationId,
      token: interaction.token,
      version: 1,
      ...(naming === 'none' ? {} : { channel_id: interaction.channelId }),
      ...(channel && naming === 'object' ? { channel: channelPayload(channel) } : {}),
      ...(interaction.guildId
        ? { guild_id: interaction.guildId, guild_locale: 'en-US', member: { ...memberPayload(user), permissions: '2248473465835073' }, guild: { id: interaction.guildId, locale: 'en-US', features: [] } }
        : { user: userPayload(user) }),
      locale: locale ?? 'en-US',
      app_permissions: APP_PERMISSIONS,
      entitlements: [],
      authorizing_integration_owners: interaction.guildId ? { '0': interaction.guildId } : { '0': state.guildId },
      context: interaction.guildId ? 0 : 1,
      attachment_size_limit: state.attachmentSizeLimit,
      ...body,
    };
  };

  const fake: FakeDiscord = {
    url: state.baseUrl,
    apiUrl: `${state.baseUrl}/api`,
    token: state.token,
    applicationId: state.applicationId,
    botUser: state.botUser,
    guildId: state.guildId,
    channelId: state.channelId,
    threadId: state.threadId,
    users: state.users,
    requests: state.requests,
    violations: state.violations,
    interactions: state.interactions,
    sessions: state.sessions,
    commands: state.commands,
    expiredTokenUses: state.expiredTokenUses,
    messages: (channelId) => state.messageList.filter((m) => m.channelId === channelId),
    message: (id) => state.messagesById.get(id),
    dmChannel: (user) => state.dmChannel(user),
    botConnected: () => gateway.whenReady(),
    refusedGatewayConnections: () => state.refusedGatewayConnections,
    closeGateway: (code, reason) => gateway.closeAll(code, reason),
    unfriendly(mode) {
      state.unfriendly = { ...mode };
    },

    userMessage({ author, channelId, content, mentionBot = false, replyTo, files = [] }) {
      requireBot();
      const channel = state.channels.get(channelId);
      if (!channel) throw new Error(`fake Discord: unknown channel ${channelId}`);
      const text = mentionBot ? `<@${state.botUser.id}> ${content}` : content;
      const message = state.addMessage(
        newMessage({
          channelId,
          ...(channel.guildId ? { guildId: channel.guildId } : {}),
          author,
          content: text,
          via: 'user',
          mentionsBot: mentionBot,
          files: files.map((file) => storedFile(file.name, file.contentType, file.bytes)),
          ...(replyTo !== undefined ? { replyTo } : {}),
        }),
      );
      state.userAttachments.set(message.id, files.map((file) => state.storeUserFile(channelId, file)));
      const repliedToBot = replyTo !== undefined && state.messagesById.get(replyTo)?.author.id === state.botUser.id;
      const dm = channel.type === 1;
      gateway.broadcast('MESSAGE_CREATE', (intents) => {
        if ((intents & (dm ? Intents.DirectMessages : Intents.GuildMessages)) === 0) return undefined;
        // Without MESSAGE_CONTENT a bot sees guild messages' content only when it is addressed.
        const visible = dm || mentionBot || repliedToBot || (intents & Intents.MessageContent) !== 0;
        return {
          ...messagePayload(state, message, visible),
          ...(dm ? { channel_type: 1 } : { member: { roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 } }),
        };
      });
      return message;
    },

    slashCommand({ user, channelId, name, options = {}, locale, channel }) {
      requireBot();
      const command = commandFor(channelId, name);
      const interaction = newInteraction('command', name, user, channelId);
      const commandOptions: Array<Record<string, unknown>> = [];
      const resolved: Record<string, Record<string, unknown>> = {};
      if (options.prompt !== undefined) commandOptions.push({ name: 'prompt', type: 3, value: options.prompt });
      if (options.file !== undefined) {
        const stored = state.storeUserFile(channelId, options.file);
        resolved.attachments = { [stored.id]: stored };
        commandOptions.push({ name: 'file', type: 11, value: stored.id });
      }
      for (const option of commandOptions) {
        if (!command.options?.some((declared) => declared.name === option.name)) throw new Error(`fake Discord: /${name} has no option ${String(option.name)}`);
      }
      const payload = interactionPayload(interaction, user, locale, {
        type: 2,
        data: {
          id: command.id,
          name,
          type: 1,
          ...(commandOptions.length > 0 ? { options: commandOptions } : {}),
          ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
          ...(interaction.guildId && state.commands.guild.has(interaction.guildId) ? { guild_id: interaction.guildId } : {}),
        },
      }, channel);
      gateway.broadcast('INTERACTION_CREATE', () => payload);
      return interaction;
    },

    messageCommand({ user, messageId, name, locale }) {
      requireBot();
      const message = state.messagesById.get(messageId);
      if (!message || message.deleted || message.ephemeral) throw new Error(`fake Discord: no message ${messageId} to run a command on`);
      const command = commandFor(message.channelId, name);
      if ((command as { type?: number }).type !== 3) throw new Error(`fake Discord: ${name} is not a message command`);
      const interaction = newInteraction('command', name, user, message.channelId);
      const payload = interactionPayload(interaction, user, locale, {
        type: 2,
        data: {
          id: command.id,
          name,
          type: 3,
          target_id: message.id,
          resolved: { messages: { [message.id]: messagePayload(state, message) } },
          ...(interaction.guildId && state.commands.guild.has(interaction.guildId) ? { guild_id: interaction.guildId } : {}),
        },
      });
      gateway.broadcast('INTERACTION_CREATE', () => payload);
      return interaction;
    },

    submitModal({ user, opened, values, locale }) {
      requireBot();
      const modal = opened.modal;
      if (modal === undefined) throw new Error(`fake Discord: interaction ${opened.id} opened no modal`);
      const rows = (modal.components ?? []) as Array<{ components: Array<{ custom_id: string }> }>;
      const inputs = rows.flatMap((row) => row.components.map((input) => input.custom_id));
      for (const id of Object.keys(values)) if (!inputs.includes(id)) throw new Error(`fake Discord: the modal has no input ${id}`);
      const interaction = newInteraction('modal', String(modal.custom_id), user, opened.channelId);
      const payload = interactionPayload(interaction, user, locale, {
        type: 5,
        data: {
          custom_id: modal.custom_id,
          components: inputs.map((id) => ({ type: 1, components: [{ type: 4, custom_id: id, value: values[id] ?? '' }] })),
        },
      });
      gateway.broadcast('INTERACTION_CREATE', () => payload);
      return interaction;
    },

    openInteraction({ user, channelId }) {
      return newInteraction('command', 'video', user, channelId);
    },

    pressButton({ user, messageId, customId, locale, channel, messageOverrides = {} }) {
      requireBot();
      const message = state.messagesById.get(messageId);
      if (!message) throw new Error(`fake Discord: unknown message ${messageId}`);
      const has = JSON.stringify(message.components).includes(JSON.stringify(customId));
      if (!has) throw new Error(`fake Discord: message ${messageId} has no button ${customId}`);
      const interaction = newInteraction('button', customId, user, message.channelId);
      const payload = interactionPayload(interaction, user, locale, {
        type: 3,
        data: { custom_id: customId, component_type: 2 },
        message: { ...messagePayload(state, message), ...messageOverrides },
      }, channel);
      gateway.broadcast('INTERACTION_CREATE', () => payload);
      return interaction;
    },

    failNext(route, failure, times = 1) {
      state.failNext(route, failure, times);
    },
    expireInteraction(interactionId) {
      state.expiredInteractions.add(interactionId);
    },
    closeDms(user) {
      state.closedDms.add(user.id);
    },
    setManageMessages(allowed) {
      state.manageMessages = allowed;
    },
    async close() {
      await gateway.close();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
  return fake;
}

export type { UserFile };
