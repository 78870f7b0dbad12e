/**
 * `npm run discord:register`: overwrites the slash commands and the message command, on `DISCORD_GUILD_ID` when set
 * (instant), globally otherwise. The bot does the same at every start; this is for doing it
 * without starting the bot.
 */
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config.js';
import { fetchApplicationId, registerCommands } from './commands.js';
import { asDiscordRequestError } from './discord-errors.js';
import { createDiscordRest } from './discord-rest.js';

/** Registers the commands; returns the line to print. Throws with a token-free message. */
export async function registerFromEnv(env: NodeJS.ProcessEnv): Promise<string> {
  const config = loadConfig(env);
  if (config.discordToken === undefined) throw new ConfigError('DISCORD_TOKEN', 'DISCORD_TOKEN is not set: nothing to register.');
  const rest = createDiscordRest({ token: config.discordToken, apiUrl: config.discordApiUrl });
  let applicationId: string;
  try {
    applicationId = await fetchApplicationId(rest);
  } catch (error) {
    throw asDiscordRequestError(error);
  }
  const { count, scope } = await registerCommands(rest, applicationId, config.discordGuildId);
  return scope === 'guild'
    ? `Registered ${count} commands on guild ${config.discordGuildId ?? ''} (they appear at once).`
    : `Registered ${count} commands globally (Discord may take up to an hour to show them everywhere).`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  registerFromEnv(process.env).then(
    (line) => {
      process.stdout.write(`${line}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
