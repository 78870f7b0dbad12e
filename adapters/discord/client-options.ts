import { GatewayIntentBits, Options, Partials, type ClientOptions } from 'discord.js';
import { PatientShardingStrategy, type GatewayHooks } from './gateway-strategy.js';

export interface ClientSettings {
  apiUrl: string;
  /** Read every guild message (needs the privileged MessageContent intent). */
  freeTextInGuilds: boolean;
  /** Gateway shards in all, or 'auto' (Discord's recommendation); absent: one connection. */
  shardCount?: number | 'auto' | undefined;
  /** The shards this process runs (bot replicas split them); absent: all of them. */
  shardIds?: readonly number[] | undefined;
  /** Told of gateway closes and of dispatches discord.js could not read. */
  gatewayHooks?: GatewayHooks;
}

const NO_HOOKS: GatewayHooks = { onClose: () => undefined, onDispatchError: () => undefined };

/** discord.js's shard options: one process can run every shard, or replicas split them by id. */
export function shardOptions(settings: Pick<ClientSettings, 'shardCount' | 'shardIds'>): Pick<ClientOptions, 'shards' | 'shardCount'> {
  const { shardCount, shardIds } = settings;
  if (shardCount === undefined) return {};
  if (shardCount === 'auto') return { shards: 'auto' };
  const ids = shardIds && shardIds.length > 0 ? [...shardIds] : Array.from({ length: shardCount }, (_, id) => id);
  return { shards: ids, shardCount };
}

/** The intents the bot asks for: slash commands need none; messages only what it reads. */
export function discordIntents(freeTextInGuilds: boolean): GatewayIntentBits[] {
  return [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.DirectMessages,
    ...(freeTextInGuilds ? [GatewayIntentBits.MessageContent] : []),
  ];
}

/**
 * discord.js options: minimal intents, `Partials.Channel` (DMs arrive on channels never
 * cached), and no caches the bot does not read: messages, members, users, presences,
 * reactions, emojis and the like are kept only for the bot itself, or not at all.
 */
export function discordClientOptions(settings: ClientSettings): ClientOptions {
  return {
    ...shardOptions(settings),
    intents: discordIntents(settings.freeTextInGuilds),
    partials: [Partials.Channel],
    rest: { api: settings.apiUrl },
    // A first login that fails heals when the gateway comes back (see gateway-strategy.ts).
    ws: { buildStrategy: (manager) => new PatientShardingStrategy(manager, settings.gatewayHooks ?? NO_HOOKS) },
    allowedMentions: { parse: [] },
    failIfNotExists: false,
    makeCache: Options.cacheWithLimits({
      MessageManager: 0,
      GuildMemberManager: { maxSize: 0, keepOverLimit: (member) => member.id === member.client.user.id },
      UserManager: { maxSize: 0, keepOverLimit: (user) => user.id === user.client.user?.id },
      ThreadMemberManager: 0,
      PresenceManager: 0,
      ReactionManager: 0,
      ReactionUserManager: 0,
      GuildEmojiManager: 0,
      BaseGuildEmojiManager: 0,
      GuildStickerManager: 0,
      GuildBanManager: 0,
      GuildInviteManager: 0,
      GuildScheduledEventManager: 0,
      StageInstanceManager: 0,
      VoiceStateManager: 0,
      AutoModerationRuleManager: 0,
      ApplicationCommandManager: 0,
    }),
  };
}
