import type { Telegram } from 'telegraf';
import type { Language } from '../../src/core/types.js';
import { tt } from './texts.js';

/** The commands shown in Telegram's menu, in menu order (the router knows a few more). */
export const MENU_COMMANDS = ['start', 'help', 'new', 'export', 'credits', 'status'] as const;

/**
 * Commands that address this bot in a group even without `@botname`. `/login` among them: a
 * token posted in a group must be deleted (or its owner warned), not ignored.
 */
export const KNOWN_COMMANDS: ReadonlySet<string> = new Set([...MENU_COMMANDS, 'upload', 'login']);

const DESCRIPTION_KEY = {
  start: 'commandStart',
  help: 'commandHelp',
  new: 'commandNew',
  export: 'commandExport',
  credits: 'commandCredits',
  status: 'commandStatus',
} as const;

export interface BotCommand {
  command: string;
  description: string;
}

export function menuCommands(lang: Language): BotCommand[] {
  return MENU_COMMANDS.map((command) => ({ command, description: tt(lang, DESCRIPTION_KEY[command]) }));
}

/** Registers the menu: English for everyone, Chinese for clients set to Chinese. */
export async function registerCommands(telegram: Pick<Telegram, 'setMyCommands'>): Promise<void> {
  await telegram.setMyCommands(menuCommands('en'));
  await telegram.setMyCommands(menuCommands('zh'), { language_code: 'zh' });
}
