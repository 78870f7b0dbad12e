import { once } from 'node:events';
import {
  Client,
  Events,
  InteractionResponseType,
  MessageFlags,
  Routes,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type Message,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { slashCommand } from '../../src/core/commands.js';
import { detectLanguage, t } from '../../src/core/i18n.js';
import type { Inbox } from '../../src/core/inbox.js';
import { Intake } from '../../src/core/intake.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import type { IncomingMessage, Language, MessageHandler } from '../../src/core/types.js';
import { MAX_UPLOAD_BYTES } from '../../src/nemo/formats.js';
import { discordExtra } from './address.js';
import type { DownloadOptions } from './attachments.js';
import { discordButtonStore } from './button-store.js';
import { discordClientOptions } from './client-options.js';
import { CONTINUE_COMMAND, registerCommands } from './commands.js';
import { asDiscordRequestError, describeDiscordError } from './discord-errors.js';
import type { DiscordOutbox } from './discord-outbox.js';
import { closeReason, GatewayMonitor, type GatewayStatus } from './gateway-monitor.js';
import { GatewayClosedError } from './gateway-strategy.js';
import {
  continueModal,
  normalizeButton,
  normalizeCommand,
  normalizeContinue,
  normalizeMessage,
  parseContinueModalId,
  NormalizedMessageSchema,
  toIncomingMessage,
  type NormalizedMessage,
  type NormalizeOptions,
} from './normalize.js';
import { dt } from './texts.js';

export interface DiscordBotDeps {
  token: string;
  /** `DISCORD_API_URL`. */
  apiUrl: string;
  /** Register the commands on this guild (instant) instead of globally. */
  guildId?: string;
  handler: MessageHandler;
  /** For the button rows; the outbox must save them under the same key map. */
  redis: Redis;
  /** The key map; default the `nvb` one. */
  keys?: RedisKeys;
  logger: Logger;
  outbox: DiscordOutbox;
  /** Answer every message in guild channels (asks for the privileged MessageContent intent). */
  freeTextInGuilds?: boolean;
  /** Replies use an interaction's token this long after it was created; default 14 min (Discord: 15). */
  interactionTokenTtlMs?: number;
  /** Overwrite the slash commands once ready; default true. */
  registerCommands?: boolean;
  /** Gateway sharding (DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS); absent: one connection. */
  shardCount?: number | 'auto' | undefined;
  shardIds?: readonly number[] | undefined;
  /** Keeps each message until the engine made it durable, so a killed process loses none. */
  inbox: Inbox;
  /** How often messages of a dead process are looked for; default 15 s (its heartbeat lapses after 30 s). */
  inboxSweepMs?: number;
  /** First wait before asking an unreachable API again at start (doubling up to 30 s); default 1 s. */
  apiRetryMs?: number;
  /** Told of every gateway close, with its code (the metric). */
  onGatewayClose?: (code: number) => void;
  /** Told when the gateway connection comes up or goes down (the metric). */
  onConnected?: (connected: boolean) => void;
}

export interface DiscordBot {
  /**
   * Resolves once connected, every guild received, the commands registered and the sweeper
   * started: on the first READY, however long the gateway takes. Rejects only when it cannot
   * succeed (`DiscordLoginError`: a refused token, refused intents) or the bot was stopped first.
   */
  ready: Promise<void>;
  /** The gateway connection now (for `/readyz`). */
  connection(): GatewayStatus;
  /**
   * Disconnects and takes no more events. Turns already handed to the engine stay the engine's
   * (they post through the outbox; `engine.stop()` gives them their deadline).
   */
  stop(): Promise<void>;
  readonly client: Client;
}

export class DiscordLoginError extends Error {
  readonly code = 'discord_login_failed';
  constructor(
    detail: string,
    /** Discord refused the token itself (REST 401 or gateway 4004): nothing but a new token helps. */
    readonly tokenRejected = false,
  ) {
    super(tokenRejected ? `Discord refused DISCORD_TOKEN (${detail}): copy the bot token again from the Discord Developer Portal.` : `Discord login failed: ${detail}`);
    this.name = 'DiscordLoginError';
  }
}

/** A login failure as one line, without the token. */
function loginError(error: unknown): DiscordLoginError {
  if (error instanceof GatewayClosedError) {
    if (error.closeCode === 4004) return new DiscordLoginError('gateway close 4004, authentication failed', true);
    // 4014: the privileged Message Content intent is off in the Developer Portal.
    const hint = error.closeCode === 4014 ? ': enable the Message Content intent for the bot, or unset DISCORD_FREE_TEXT_IN_GUILDS' : '';
    return new DiscordLoginError(`the gateway closed with ${error.closeCode} (${closeReason(error.closeCode)})${hint}`);
  }
  if (error instanceof Error && (error as { code?: unknown }).code === 'TokenInvalid') return new DiscordLoginError('401 Unauthorized', true);
  return new DiscordLoginError(asDiscordRequestError(error, 'login').message);
}

const DEFAULT_TOKEN_TTL_MS = 14 * 60_000;
const DOWNLOAD: DownloadOptions = { maxBytes: MAX_UPLOAD_BYTES };
const INBOX_PREFIX = 'discord:';
const DEFAULT_INBOX_SWEEP_MS = 15_000;
const DEFAULT_API_RETRY_MS = 1000;
const MAX_API_RETRY_MS = 30_000;
// Channel ids of interactions on their way through discord.js, which drops `channel_id` without a `channel` object.
const MAX_RAW_CHANNELS = 1000;
// Discord sends an event twice only to two sessions on one shard or on a resume, minutes apart.
const SEEN_TTL_SECONDS = 3600;

/** What the inbox keeps: enough for any process to hand the message to the engine again. */
const InboxPayloadSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), message: NormalizedMessageSchema }),
  // `deferred`: the bot acknowledged the interaction; its "thinking…" reply waits for the answer.
  z.object({ kind: z.literal('interaction'), message: NormalizedMessageSchema, deferred: z.boolean() }),
]);
type InboxPayload = z.infer<typeof InboxPayloadSchema>;

/**
 * The Discord side of the bot: gateway events in, normalized messages out to the engine.
 * Interactions are acknowledged (deferred) before anything else; the engine's turn is handed
 * off, never awaited in a listener; every listener catches its own failures.
 */
export function startDiscordBot(deps: DiscordBotDeps): DiscordBot {
  const log = deps.logger.child({ component: 'discord' });
  const keys = deps.keys ?? createRedisKeys();
  const freeTextInGuilds = deps.freeTextInGuilds ?? false;
  const buttons = discordButtonStore(deps.redis, keys);
  const monitor = new GatewayMonitor(log, {
    ...(deps.onGatewayClose ? { onClose: deps.onGatewayClose } : {}),
    ...(deps.onConnected ? { onConnected: deps.onConnected } : {}),
  });
  const rawChannels = new Map<string, string>();
  const client = new Client(
    discordClientOptions({
      apiUrl: deps.apiUrl,
      freeTextInGuilds,
      shardCount: deps.shardCount,
      shardIds: deps.shardIds,
      gatewayHooks: {
        onClose: (shardId, code) => monitor.closed(shardId, code),
        onDispatchError: (_shardId, packet, error) => unreadable(packet, error),
      },
    }),
  );
  let stopped = false;
  let sweeper: NodeJS.Timeout | undefined;
  const intake = new Intake<InboxPayload>({
    inbox: deps.inbox,
    idPrefix: INBOX_PREFIX,
    logger: log,
    describeError: (error) => describeDiscordError(error, 'engine'),
    payload: InboxPayloadSchema,
    resume: (payload, inboxId) => resume(payload, inboxId),
    sendText: (to, text) => deps.outbox.sendText(to, text),
  });

  const normalizeOptions = (): NormalizeOptions => ({
    botUserId: client.user?.id ?? '',
    freeTextInGuilds,
    interactionTokenTtlMs: deps.interactionTokenTtlMs ?? DEFAULT_TOKEN_TTL_MS,
    download: DOWNLOAD,
  });

  // Without these, one failed request or a rejected listener would end the process.
  client.on(Events.Error, (error) => log.error({ err: describeDiscordError(error) }, 'discord client error (it keeps running)'));
  client.on(Events.ShardError, (error) => monitor.error(asDiscordRequestError(error).detail));
  client.on(Events.Warn, (message) => log.warn({ message }, 'discord warning'));
  client.on(Events.ShardReady, (shardId) => monitor.shardReady(shardId));
  client.on(Events.ShardResume, (shardId, replayed) => monitor.resumed(shardId, replayed));
  client.on(Events.ShardReconnecting, (shardId) => monitor.reconnecting(shardId));
  client.on(Events.ShardDisconnect, (event, shardId) => monitor.disconnected(shardId, event.code));
  client.on(Events.Raw, (packet: { t?: unknown; d?: { id?: unknown; channel_id?: unknown } }) => {
    if (packet.t !== 'INTERACTION_CREATE' || typeof packet.d?.id !== 'string' || typeof packet.d.channel_id !== 'string') return;
    if (rawChannels.size >= MAX_RAW_CHANNELS) rawChannels.clear();
    rawChannels.set(packet.d.id, packet.d.channel_id);
  });

  const guard = (what: string, work: () => Promise<void>, apologize?: () => Promise<void>): void => {
    if (stopped) return;
    work().catch(async (error: unknown) => {
      log.error({ err: describeDiscordError(error) }, `${what} failed`);
      await apologize?.().catch((failure: unknown) => log.debug({ err: describeDiscordError(failure) }, 'could not apologize either'));
    });
  };

  client.on(Events.MessageCreate, (message) => guard('message', () => onMessage(message)));
  client.on(Events.InteractionCreate, (interaction) =>
    guard(
      'interaction',
      () => onInteraction(interaction),
      () => apologize(interaction),
    ),
  );

  /** A press or command whose handling failed still gets an answer, when it can be answered. */
  async function apologize(interaction: Interaction): Promise<void> {
    if (!interaction.isRepliable() || interaction.replied) return;
    const content = dt(languageOf(interaction.locale), 'interactionFailed');
    if (interaction.deferred) await interaction.editReply({ content });
    else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  }

  /**
   * discord.js threw while reading a gateway event (Spacebar sends `thread: null`): logged, and
   * an interaction is answered from the raw event, since discord.js never made one of it.
   */
  function unreadable(packet: { t?: unknown; d?: unknown }, error: unknown): void {
    const event = typeof packet.t === 'string' ? packet.t : 'unknown';
    const d = (packet.d ?? {}) as { id?: unknown; token?: unknown; type?: unknown; locale?: unknown };
    const err = describeDiscordError(error, 'gateway');
    if (event !== 'INTERACTION_CREATE' || typeof d.id !== 'string' || typeof d.token !== 'string' || d.type === 1) {
      // A server that sends one odd field sends it in every event: one line a minute.
      monitor.unreadable(event, { err });
      return;
    }
    log.error({ err, event, id: d.id }, 'discord.js could not read a gateway event');
    rawChannels.delete(d.id);
    const content = dt(languageOf(typeof d.locale === 'string' ? d.locale : undefined), 'interactionFailed');
    client.rest
      .post(Routes.interactionCallback(d.id, d.token), {
        body: { type: InteractionResponseType.ChannelMessageWithSource, data: { content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } } },
        auth: false,
      })
      .catch((failure: unknown) => log.warn({ err: describeDiscordError(failure) }, 'could not answer the unreadable interaction'));
  }

  async function onMessage(message: Message): Promise<void> {
    if (message.author.bot || message.system || message.webhookId !== null) return;
    const normalized = normalizeMessage(message, normalizeOptions());
    if (!normalized.addressed) return;
    // "is typing…" before the Redis round trip of its first sight.
    deps.handler.arrived?.(normalized.address);
    const sight = await firstSight(`message:${message.id}`, `${INBOX_PREFIX}${message.id}`, { kind: 'message', message: normalized });
    if (sight) handOff(incomingOf(normalized), sight.inboxId);
  }

  async function onInteraction(interaction: Interaction): Promise<void> {
    const channelId = interaction.channelId ?? rawChannels.get(interaction.id);
    rawChannels.delete(interaction.id);
    if (interaction.channelId === null) {
      if (channelId === undefined) log.warn({ interactionId: interaction.id }, 'an interaction named no channel: answering through the interaction only');
      else log.debug({ interactionId: interaction.id }, 'an interaction without a channel object: its channel_id is used');
    }
    const options = { ...normalizeOptions(), ...(channelId === undefined ? {} : { channelId }) };
    if (interaction.isChatInputCommand()) return onCommand(interaction, options);
    if (interaction.isButton()) return onButton(interaction, options);
    if (interaction.isMessageContextMenuCommand()) return onMessageCommand(interaction);
    if (interaction.isModalSubmit()) return onModal(interaction, options);
  }

  /**
   * "Continue this project" on one of the bot's messages: a modal asks for the instruction.
   * Works whatever the person's reply settings, and on interaction responses, which a reply
   * without the Message Content intent never reaches.
   */
  async function onMessageCommand(interaction: MessageContextMenuCommandInteraction): Promise<void> {
    const lang = languageOf(interaction.locale);
    if (interaction.commandName !== CONTINUE_COMMAND.name) {
      await interaction.reply({ content: t(lang, 'unknownCommand', { command: interaction.commandName }), flags: MessageFlags.Ephemeral });
      return;
    }
    if (interaction.targetMessage.author.id !== client.user?.id) {
      await interaction.reply({ content: dt(lang, 'continueNotMine'), flags: MessageFlags.Ephemeral });
      return;
    }
    // The modal is the answer: it must go within Discord's 3 seconds, so nothing is read first.
    await interaction.showModal(continueModal(interaction.targetId, lang));
  }

  /** The instruction typed into the "Continue this project" modal: a message to that message's project. */
  async function onModal(interaction: ModalSubmitInteraction, options: NormalizeOptions): Promise<void> {
    const targetId = parseContinueModalId(interaction.customId);
    if (targetId === undefined) return;
    const deferred = await defer(interaction);
    await answer(interaction, normalizeContinue(interaction, targetId, options), deferred);
  }

  async function onCommand(interaction: ChatInputCommandInteraction, options: NormalizeOptions): Promise<void> {
    const lang = languageOf(interaction.locale);
    if (slashCommand(interaction.commandName) === undefined) {
      await interaction.reply({ content: t(lang, 'unknownCommand', { command: `/${interaction.commandName}` }), flags: MessageFlags.Ephemeral });
      return;
    }
    const normalized = normalizeCommand(interaction, options);
    // Discord gives 3 seconds to acknowledge: defer first, the engine answers in the reply.
    const deferred = await defer(interaction, normalized.ephemeral === true);
    await answer(interaction, normalized, deferred);
  }

  async function onButton(interaction: ButtonInteraction, options: NormalizeOptions): Promise<void> {
    if (!buttons.recognizes(interaction.customId)) return;
    const lang = languageOf(interaction.locale);
    const press = await buttons.press(interaction.customId, { userId: interaction.user.id, chatId: options.channelId });
    if (press.kind === 'expired' || press.kind === 'elsewhere') {
      await interaction.reply({ content: dt(lang, 'buttonExpired'), flags: MessageFlags.Ephemeral });
      return;
    }
    if (press.kind === 'not-yours') {
      await interaction.reply({ content: dt(lang, 'notYourButtons', { owner: press.ownerId }), flags: MessageFlags.Ephemeral });
      return;
    }
    const deferred = await defer(interaction);
    await answer(interaction, normalizeButton(interaction, press.action, press.target, options), deferred);
  }

  /** `ephemeral`: the reply (and the command that asked for it) are shown to its sender alone. */
  async function defer(interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction, ephemeral = false): Promise<boolean> {
    try {
      await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
      return true;
    } catch (error) {
      // Too late or refused: the answer goes into the channel instead.
      log.warn({ err: describeDiscordError(error) }, 'could not defer the interaction');
      return false;
    }
  }

  /**
   * Kept in the inbox after the deferral (Discord's 3 seconds come first), then handed to the
   * engine, unless another session on the same shard has it already.
   */
  async function answer(
    interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
    message: NormalizedMessage,
    deferred: boolean,
  ): Promise<void> {
    const payload: InboxPayload = { kind: 'interaction', message, deferred };
    const { interactionExpiresAt } = discordExtra(message.address);
    const live = { id: interaction.id, applicationId: interaction.applicationId, token: interaction.token, expiresAt: interactionExpiresAt ?? 0 };
    // In the same moment as the inbox write: the token is kept apart, under a key that expires with it.
    const [sight] = await Promise.all([
      firstSight(`interaction:${interaction.id}`, `${INBOX_PREFIX}interaction:${interaction.id}`, payload),
      deps.outbox.interactions.keep(live).catch((error: unknown) => {
        // This process still answers through it; another one would answer in the channel.
        log.warn({ err: describeDiscordError(error, 'redis') }, 'could not keep the interaction token in Redis');
      }),
    ]);
    if (sight) relay(message, deferred, sight.inboxId);
  }

  /** Hands an interaction's message to the engine: into its deferred reply, or the channel. */
  function relay(message: NormalizedMessage, deferred: boolean, inboxId: string | undefined): void {
    const incoming = incomingOf(message);
    if (!deferred) return handOff(withoutInteraction(incoming), inboxId);
    deps.outbox.noteDeferred(incoming.address);
    handOff(incoming, inboxId);
  }

  /** Marks the event seen and keeps it in the inbox, in one step; undefined when another session or replica saw it first. */
  function firstSight(seen: string, inboxId: string, payload: InboxPayload): Promise<{ inboxId?: string } | undefined> {
    return intake.admit(keys.discordSeen(seen), SEEN_TTL_SECONDS, { id: deps.inbox.entryId(inboxId, 'discord', payload.message.address.userId), payload });
  }

  /** The engine's message; a guild message can be deleted (a `/login` carrying a token). */
  function incomingOf(message: NormalizedMessage): IncomingMessage {
    return toIncomingMessage(message, DOWNLOAD, { deleteMessage: (channelId, messageId) => deps.outbox.deleteMessage(channelId, messageId) });
  }

  /** The engine resolves only when the whole turn is done: never awaited here. */
  function handOff(message: IncomingMessage, inboxId?: string): void {
    if (inboxId !== undefined) message.inboxId = inboxId;
    intake.handOff(
      () => deps.handler.handle(message),
      { address: message.address, language: message.platformLanguage, text: message.text },
      inboxId,
      // Best effort, like every acknowledgement: never reported as the turn failing.
      () => deps.outbox.dropUnfilled(message.address),
    );
  }

  /** Messages a killed process had received but not yet made durable: handled here. */
  async function sweepInbox(): Promise<void> {
    if (stopped) return;
    await intake.sweep();
  }

  async function resume(payload: InboxPayload, inboxId: string): Promise<void> {
    if (payload.kind === 'message') return handOff(incomingOf(payload.message), inboxId);
    // Past the token's life the answer goes into the channel; while it lives, it fills the deferred reply.
    const live = payload.deferred ? await deps.outbox.interactions.find(payload.message.address).catch(() => undefined) : undefined;
    relay(payload.message, live !== undefined, inboxId);
  }

  function sweepNow(): Promise<void> {
    return sweepInbox().catch((error: unknown) => log.warn({ err: describeDiscordError(error, 'redis') }, 'inbox sweep failed'));
  }

  async function startSweeping(): Promise<void> {
    await sweepNow();
    if (stopped) return;
    sweeper = setInterval(() => void sweepNow(), deps.inboxSweepMs ?? DEFAULT_INBOX_SWEEP_MS);
    sweeper.unref();
  }

  /**
   * `GET /gateway/bot` until Discord's API answers: login() asks it once and gives up on a 5xx or
   * a network error, so an API outage at start would otherwise need a restart. A 401 ends it.
   */
  async function reachDiscord(): Promise<void> {
    client.rest.setToken(deps.token);
    let waitMs = deps.apiRetryMs ?? DEFAULT_API_RETRY_MS;
    for (;;) {
      try {
        await client.rest.get(Routes.gatewayBot());
        return;
      } catch (error) {
        const failure = asDiscordRequestError(error, 'GET /gateway/bot');
        if (failure.status === 401) throw new DiscordLoginError('401 Unauthorized', true);
        const answered = failure.status !== undefined && failure.status < 500 && failure.status !== 429;
        if (answered || stopped) throw new DiscordLoginError(failure.message);
        monitor.error(`Discord's API does not answer (${failure.detail}): trying again`);
        await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
        waitMs = Math.min(waitMs * 2, MAX_API_RETRY_MS);
      }
    }
  }

  const ready = (async () => {
    // The heartbeat must exist before the first message is kept, or a sweeper would take it.
    await deps.inbox.start();
    if (stopped) deps.inbox.stop();
    const clientReady = once(client, Events.ClientReady);
    clientReady.catch(() => undefined);
    await reachDiscord();
    try {
      // Resolves on the first session, however many refused attempts it takes (gateway-strategy.ts).
      await client.login(deps.token);
    } catch (error) {
      if (stopped) throw new DiscordLoginError('stopped before the first connection');
      throw loginError(error);
    }
    await clientReady;
    const applicationId = client.application?.id;
    if (deps.registerCommands !== false && applicationId !== undefined && !stopped) {
      try {
        const done = await registerCommands(client.rest, applicationId, deps.guildId);
        log.info(done, 'slash commands registered');
      } catch (error) {
        // The commands registered last time still work.
        log.warn({ err: describeDiscordError(error) }, 'slash command registration failed');
      }
    }
    if (!stopped) await startSweeping();
    log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord bot ready');
  })();
  // A caller that never awaits `ready` must not get an unhandled rejection.
  ready.catch(() => undefined);

  return {
    ready,
    client,
    connection: () => monitor.status(),
    async stop() {
      stopped = true;
      clearInterval(sweeper);
      deps.inbox.stop();
      await client.destroy();
    },
  };
}

function languageOf(locale: string | undefined): Language {
  return detectLanguage(locale, '');
}

/** The same message, answered in the channel: its interaction could not be acknowledged. */
function withoutInteraction(message: IncomingMessage): IncomingMessage {
  const extra = { ...(message.address.extra ?? {}) };
  delete extra.interactionId;
  delete extra.interactionToken;
  delete extra.interactionExpiresAt;
  return { ...message, address: { ...message.address, extra } };
}
