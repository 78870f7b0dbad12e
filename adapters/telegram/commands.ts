import type { Telegram } from 'telegraf';
import { COMMANDS, telegramKnownCommands, telegramMenu, type CommandSpec } from '../../src/core/commands.js';
import type { Language } from '../../src/core/types.js';

/**
 * Commands that address this bot in a group even without `@botname` (from the command table):
 * `/login` among them, since a token posted in a group must be deleted, not ignored.
 */
export const KNOWN_COMMANDS: ReadonlySet<string> = telegramKnownCommands();

export interface BotCommand {
  command: string;
  description: string;
}

/** The menu in `lang`, from the command table. */
export function menuCommands(lang: Language, table: readonly CommandSpec[] = COMMANDS): BotCommand[] {
  return telegramMenu(lang, table);
}

/** Registers the menu: English for everyone, Chinese for clients set to Chinese. */
export async function registerCommands(telegram: Pick<Telegram, 'setMyCommands'>, table: readonly CommandSpec[] = COMMANDS): Promise<void> {
  await telegram.setMyCommands(menuCommands('en', table));
  await telegram.setMyCommands(menuCommands('zh', table), { language_code: 'zh' });
}
