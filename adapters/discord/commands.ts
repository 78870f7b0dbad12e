import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  Routes,
  type REST,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from 'discord.js';
import { COMMANDS, slashCommands, type CommandSpec, type Localized, type SlashOption } from '../../src/core/commands.js';
import { asDiscordRequestError } from './discord-errors.js';

// Discord's locale for the table's Chinese.
const ZH = 'zh-CN';

function localized(text: Localized): { description: string; description_localizations: Record<string, string> } {
  return { description: text.en, description_localizations: { [ZH]: text.zh } };
}

function option(spec: SlashOption): NonNullable<RESTPostAPIChatInputApplicationCommandsJSONBody['options']>[number] {
  const named = { name: spec.name, name_localizations: { [ZH]: spec.nameZh }, ...localized(spec.description) };
  return spec.kind === 'text'
    ? { type: ApplicationCommandOptionType.String, ...named, required: spec.required, ...(spec.maxLength === undefined ? {} : { max_length: spec.maxLength }) }
    : { type: ApplicationCommandOptionType.Attachment, ...named, required: spec.required };
}

/** The slash commands of the command table, as Discord's bulk-overwrite endpoint takes them. */
export function commandDefinitions(table: readonly CommandSpec[] = COMMANDS): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return slashCommands(table).map((command) => ({
    type: ApplicationCommandType.ChatInput,
    name: command.name,
    name_localizations: { [ZH]: command.nameZh },
    ...localized(command.description),
    // Usable in servers and in DMs with the bot.
    integration_types: [ApplicationIntegrationType.GuildInstall],
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    ...(command.options.length > 0 ? { options: command.options.map(option) } : {}),
  }));
}

/** The message command (right-click on the bot's message → Apps) that continues that message's project. */
export const CONTINUE_COMMAND = { name: 'Continue this project', nameZh: '继续这个项目' } as const;

/** The message commands, as the bulk-overwrite endpoint takes them (after the slash commands). */
export function messageCommandDefinitions(): RESTPostAPIContextMenuApplicationCommandsJSONBody[] {
  return [
    {
      type: ApplicationCommandType.Message,
      name: CONTINUE_COMMAND.name,
      name_localizations: { [ZH]: CONTINUE_COMMAND.nameZh },
      integration_types: [ApplicationIntegrationType.GuildInstall],
      contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    },
  ];
}

export class CommandRegistrationError extends Error {
  readonly code = 'discord_command_registration_failed';
  constructor(readonly scope: 'guild' | 'global', detail: string) {
    super(`registering the slash commands (${scope}) failed: ${detail}`);
    this.name = 'CommandRegistrationError';
  }
}

/**
 * Overwrites the application's commands: on one guild when `guildId` is given (they appear at
 * once, for development), globally otherwise. Idempotent, so it runs at every start.
 */
export async function registerCommands(
  rest: REST,
  applicationId: string,
  guildId?: string,
  table: readonly CommandSpec[] = COMMANDS,
): Promise<{ scope: 'guild' | 'global'; count: number }> {
  const scope = guildId === undefined ? 'global' : 'guild';
  const route = guildId === undefined ? Routes.applicationCommands(applicationId) : Routes.applicationGuildCommands(applicationId, guildId);
  const body = [...commandDefinitions(table), ...messageCommandDefinitions()];
  try {
    await rest.put(route, { body });
  } catch (error) {
    throw new CommandRegistrationError(scope, asDiscordRequestError(error).message);
  }
  return { scope, count: body.length };
}

/** The application id behind a bot token (`GET /applications/@me`). */
export async function fetchApplicationId(rest: REST): Promise<string> {
  const app = (await rest.get(Routes.currentApplication())) as { id?: unknown };
  if (typeof app.id !== 'string') throw new CommandRegistrationError('global', 'GET /applications/@me gave no id');
  return app.id;
}
