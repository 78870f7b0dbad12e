import { once } from 'node:events';
import {
  Client,
  Events,
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type Message,
} from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { detectLanguage, t } from '../../src/core/i18n.js';
import type { Inbox } from '../../src/core/inbox.js';
import type { IncomingMessage, Language, MessageHandler } from '../../src/core/types.js';
import { MAX_UPLOAD_BYTES } from '../../src/nemo/formats.js';
import { liveInteraction } from './address.js';
import type { DownloadOptions } from './attachments.js';
import { ButtonStore, parseButtonCustomId } from './button-store.js';
import { discordClientOptions } from './client-options.js';
import { COMMAND_NAMES, registerCommands } from './commands.js';
import { describeDiscordError } from './discord-errors.js';
import type { DiscordOutbox } from './discord-outbox.js';
import {
  normalizeButton,
  normalizeCommand,
  normalizeMessage,
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
  /** For the button rows; the outbox must save them under the same prefix. */
  redis: Redis;
  prefix?: string;
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
}

export interface DiscordBot {
  /** Resolves once connected, every guild received and the commands registered. */
  ready: Promise<void>;
  /**
   * Disconnects and takes no more events. Turns already handed to the engine stay the engine's
   * (they post through the outbox; `engine.stop()` gives them their deadline).
   */
  stop(): Promise<void>;
  readonly client: Client;
}

export class DiscordLoginError extends Error {
  readonly code = 'discord_login_failed';
  constructor(detail: string) {
    super(`Discord login failed: ${detail}`);
    this.name = 'DiscordLoginError';
  }
}

const DEFAULT_TOKEN_TTL_MS = 14 * 60_000;
const DOWNLOAD: DownloadOptions = { maxBytes: MAX_UPLOAD_BYTES };
const INBOX_PREFIX = 'discord:';
const DEFAULT_INBOX_SWEEP_MS = 15_000;
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
  const prefix = deps.prefix ?? 'nvb';
  const freeTextInGuilds = deps.freeTextInGuilds ?? false;
  const buttons = new ButtonStore(deps.redis, { prefix });
  const client = new Client(discordClientOptions({ apiUrl: deps.apiUrl, freeTextInGuilds, shardCount: deps.shardCount, shardIds: deps.shardIds }));
  let stopped = false;
  let sweeper: NodeJS.Timeout | undefined;

  const normalizeOptions = (): NormalizeOptions => ({
    botUserId: client.user?.id ?? '',
    freeTextInGuilds,
    interactionTokenTtlMs: deps.interactionTokenTtlMs ?? DEFAULT_TOKEN_TTL_MS,
    download: DOWNLOAD,
  });

  // Without these, one failed request or a rejected listener would end the process.
  client.on(Events.Error, (error) => log.error({ err: describeDiscordError(error) }, 'discord client error (it keeps running)'));
  client.on(Events.ShardError, (error) => log.warn({ err: describeDiscordError(error) }, 'discord gateway error (it reconnects)'));
  client.on(Events.Warn, (message) => log.warn({ message }, 'discord warning'));

  const guard = (what: string, work: () => Promise<void>): void => {
    if (stopped) return;
    work().catch((error: unknown) => log.error({ err: describeDiscordError(error) }, `${what} failed`));
  };

  client.on(Events.MessageCreate, (message) => guard('message', () => onMessage(message)));
  client.on(Events.InteractionCreate, (interaction) => guard('interaction', () => onInteraction(interaction)));

  async function onMessage(message: Message): Promise<void> {
    if (message.author.bot || message.system || message.webhookId !== null) return;
    const normalized = normalizeMessage(message, normalizeOptions());
    if (!normalized.addressed) return;
    const sight = await firstSight(`message:${message.id}`, `${INBOX_PREFIX}${message.id}`, { kind: 'message', message: normalized });
    if (sight) handOff(toIncomingMessage(normalized, DOWNLOAD), sight.inboxId);
  }

  async function onInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isChatInputCommand()) return onCommand(interaction);
    if (interaction.isButton()) return onButton(interaction);
  }

  async function onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const lang = languageOf(interaction.locale);
    if (!(COMMAND_NAMES as readonly string[]).includes(interaction.commandName)) {
      await interaction.reply({ content: t(lang, 'unknownCommand', { command: `/${interaction.commandName}` }), flags: MessageFlags.Ephemeral });
      return;
    }
    // Discord gives 3 seconds to acknowledge: defer first, the engine answers in the reply.
    const deferred = await defer(interaction);
    await answer(interaction.id, normalizeCommand(interaction, normalizeOptions()), deferred);
  }

  async function onButton(interaction: ButtonInteraction): Promise<void> {
    const parsed = parseButtonCustomId(interaction.customId);
    if (parsed === undefined) return;
    const lang = languageOf(interaction.locale);
    const row = await buttons.read(parsed.rowId);
    if (row === undefined) {
      await interaction.reply({ content: dt(lang, 'buttonExpired'), flags: MessageFlags.Ephemeral });
      return;
    }
    if (row.ownerId !== interaction.user.id) {
      await interaction.reply({ content: dt(lang, 'notYourButtons', { owner: row.ownerId }), flags: MessageFlags.Ephemeral });
      return;
    }
    const deferred = await defer(interaction);
    await answer(interaction.id, normalizeButton(interaction, parsed.action, normalizeOptions()), deferred);
  }

  async function defer(interaction: ChatInputCommandInteraction | ButtonInteraction): Promise<boolean> {
    try {
      await interaction.deferReply();
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
  async function answer(interactionId: string, message: NormalizedMessage, deferred: boolean): Promise<void> {
    const payload: InboxPayload = { kind: 'interaction', message, deferred };
    const sight = await firstSight(`interaction:${interactionId}`, `${INBOX_PREFIX}interaction:${interactionId}`, payload);
    if (sight) relay(message, deferred, sight.inboxId);
  }

  /** Hands an interaction's message to the engine: into its deferred reply, or the channel. */
  function relay(message: NormalizedMessage, deferred: boolean, inboxId: string | undefined): void {
    const incoming = toIncomingMessage(message, DOWNLOAD);
    if (!deferred) return handOff(withoutInteraction(incoming), inboxId);
    deps.outbox.noteDeferred(incoming.address);
    handOff(incoming, inboxId);
  }

  /**
   * Marks the event seen and keeps it in the inbox, in one step. Undefined when another
   * session or replica saw it first; without Redis it goes on without the inbox.
   */
  async function firstSight(seen: string, inboxId: string, payload: InboxPayload): Promise<{ inboxId?: string } | undefined> {
    try {
      if (await deps.inbox.admit(`${prefix}:dc:${seen}`, SEEN_TTL_SECONDS, { id: inboxId, payload })) return { inboxId };
      log.debug({ inboxId }, 'already taken by another session: ignored');
      return undefined;
    } catch (error) {
      // Better a rare duplicate than a user left without an answer.
      log.warn({ err: describeDiscordError(error, 'redis') }, 'inbox unavailable: handing the message over without it');
      return {};
    }
  }

  /** The engine resolves only when the whole turn is done: never awaited here. */
  function handOff(message: IncomingMessage, inboxId?: string): void {
    if (inboxId !== undefined) message.inboxId = inboxId;
    void Promise.resolve()
      .then(() => deps.handler.handle(message))
      .catch(async (error: unknown) => {
        log.error({ err: describeDiscordError(error, 'engine') }, 'a message failed in the engine');
        const lang = detectLanguage(message.platformLanguage, message.text);
        await deps.outbox.sendText(message.address, dt(lang, 'requestFailed')).catch(() => undefined);
      })
      // Whatever happened, it was handled: another process must not handle it again.
      .finally(() => (inboxId === undefined ? undefined : deps.inbox.release(inboxId).catch(() => undefined)));
  }

  /** Messages a killed process had received but not yet made durable: handled here. */
  async function sweepInbox(): Promise<void> {
    if (stopped) return;
    for (const entry of await deps.inbox.claimOrphans(INBOX_PREFIX)) {
      const parsed = InboxPayloadSchema.safeParse(entry.payload);
      if (!parsed.success) {
        // Paths only: the values may hold an interaction token.
        log.error({ inboxId: entry.id, issues: parsed.error.issues.map((issue) => issue.path.join('.')) }, 'a kept message of an unexpected shape: dropped');
        await deps.inbox.release(entry.id).catch(() => undefined);
        continue;
      }
      log.warn({ inboxId: entry.id }, 'handling a message a stopped process had taken');
      resume(parsed.data, entry.id);
    }
  }

  function resume(payload: InboxPayload, inboxId: string): void {
    if (payload.kind === 'message') return handOff(toIncomingMessage(payload.message, DOWNLOAD), inboxId);
    // Past the token's life the answer goes into the channel; while it lives, it fills the deferred reply.
    relay(payload.message, payload.deferred && liveInteraction(payload.message.address) !== undefined, inboxId);
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

  const ready = (async () => {
    // The heartbeat must exist before the first message is kept, or a sweeper would take it.
    await deps.inbox.start();
    if (stopped) deps.inbox.stop();
    const clientReady = once(client, Events.ClientReady);
    try {
      await client.login(deps.token);
    } catch (error) {
      throw new DiscordLoginError(describeDiscordError(error, 'login').message);
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
  delete extra.interactionToken;
  delete extra.interactionExpiresAt;
  return { ...message, address: { ...message.address, extra } };
}
