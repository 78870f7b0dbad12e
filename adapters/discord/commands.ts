import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  Routes,
  type REST,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { asDiscordRequestError } from './discord-errors.js';
import { dt, type PlainTextKey } from './texts.js';

/** The slash commands, by their English name. `video` carries the prompt and an optional file. */
export const COMMAND_NAMES = ['video', 'export', 'credits', 'status', 'new', 'help'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

// Localized names must be lower case and at most 32 letters; Chinese characters qualify.
const ZH_NAMES: Record<CommandName | 'prompt' | 'file', string> = {
  video: '视频',
  export: '导出',
  credits: '积分',
  status: '状态',
  new: '新项目',
  help: '帮助',
  prompt: '描述',
  file: '文件',
};

const DESCRIPTIONS: Record<CommandName, PlainTextKey> = {
  video: 'commandVideo',
  export: 'commandExport',
  credits: 'commandCredits',
  status: 'commandStatus',
  new: 'commandNew',
  help: 'commandHelp',
};

function localized(key: PlainTextKey): { description: string; description_localizations: Record<string, string> } {
  return { description: dt('en', key), description_localizations: { 'zh-CN': dt('zh', key) } };
}

/** The command definitions, as Discord's bulk-overwrite endpoint takes them. */
export function commandDefinitions(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return COMMAND_NAMES.map((name) => ({
    type: ApplicationCommandType.ChatInput,
    name,
    name_localizations: { 'zh-CN': ZH_NAMES[name] },
    ...localized(DESCRIPTIONS[name]),
    // Usable in servers and in DMs with the bot.
    integration_types: [ApplicationIntegrationType.GuildInstall],
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    ...(name === 'video'
      ? {
          options: [
            {
              type: ApplicationCommandOptionType.String,
              name: 'prompt',
              name_localizations: { 'zh-CN': ZH_NAMES.prompt },
              ...localized('optionPrompt'),
              required: true,
              max_length: 4000,
            },
            {
              type: ApplicationCommandOptionType.Attachment,
              name: 'file',
              name_localizations: { 'zh-CN': ZH_NAMES.file },
              ...localized('optionFile'),
              required: false,
            },
          ],
        }
      : {}),
  }));
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
export async function registerCommands(rest: REST, applicationId: string, guildId?: string): Promise<{ scope: 'guild' | 'global'; count: number }> {
  const scope = guildId === undefined ? 'global' : 'guild';
  const route = guildId === undefined ? Routes.applicationCommands(applicationId) : Routes.applicationGuildCommands(applicationId, guildId);
  const body = commandDefinitions();
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
