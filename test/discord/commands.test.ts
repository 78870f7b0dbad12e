import { shardOptions } from '../../adapters/discord/client-options.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRegistrationError, commandDefinitions } from '../../adapters/discord/commands.js';
import { registerFromEnv } from '../../adapters/discord/register-cli.js';
import { ConfigError } from '../../src/config.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';

let fake: FakeDiscord | undefined;

afterEach(async () => {
  if (fake) {
    expect(fake.violations).toEqual([]);
    await fake.close();
  }
  fake = undefined;
});

describe('slash commands', () => {
  it('when DISCORD_GUILD_ID is set, then `npm run discord:register` overwrites the commands of that guild, in English and Chinese', async () => {
    fake = await startFakeDiscord();
    const line = await registerFromEnv({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, DISCORD_GUILD_ID: fake.guildId });

    expect(line).toBe(`Registered 8 commands on guild ${fake.guildId} (they appear at once).`);
    expect(fake.commands.global).toEqual([]);
    const commands = fake.commands.guild.get(fake.guildId) ?? [];
    expect(commands.map((c) => [c.name, c.name_localizations?.['zh-CN']])).toEqual([
      ['video', '视频'],
      ['export', '导出'],
      ['credits', '积分'],
      ['status', '状态'],
      ['new', '新项目'],
      ['help', '帮助'],
      ['projects', '项目'],
      ['Continue this project', '继续这个项目'],
    ]);
    // The message command (right-click → Apps) has no description, as Discord requires.
    expect(commands.at(-1)).toMatchObject({ type: 3 });
    expect(commands.at(-1)?.description ?? '').toBe('');
    for (const command of commands.slice(0, -1)) {
      expect(command.description.length).toBeGreaterThan(0);
      expect(command.description_localizations?.['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
    }
    const video = commands.find((c) => c.name === 'video');
    expect(video?.options?.map((o) => [o.name, o.type, o.required ?? false, o.name_localizations?.['zh-CN']])).toEqual([
      ['prompt', 3, true, '描述'],
      ['file', 11, false, '文件'],
    ]);
    // The application id came from the token's application, with the bot token, never in a URL.
    expect(fake.requests.map((q) => [q.method, q.route, q.auth])).toEqual([
      ['GET', 'application', 'bot'],
      ['PUT', 'commands', 'bot'],
    ]);
  });

  it('when no guild is set, then the commands are registered globally', async () => {
    fake = await startFakeDiscord();
    const line = await registerFromEnv({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl });
    expect(line).toMatch(/^Registered 8 commands globally/);
    expect(fake.commands.global.map((c) => c.name)).toEqual(['video', 'export', 'credits', 'status', 'new', 'help', 'projects', 'Continue this project']);
    expect(fake.commands.guild.size).toBe(0);
  });

  it('when Discord refuses the registration, then the error names the scope and the reason, not the token', async () => {
    fake = await startFakeDiscord();
    fake.failNext('commands', { status: 403, code: 50001, message: 'Missing Access' });
    const error = await registerFromEnv({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, DISCORD_GUILD_ID: fake.guildId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandRegistrationError);
    expect((error as CommandRegistrationError).code).toBe('discord_command_registration_failed');
    expect((error as Error).message).toMatch(/\(guild\).*403\/50001.*Missing Access/);
    expect((error as Error).message).not.toContain(fake.token);
  });

  it('when DISCORD_TOKEN is not set, then the script says so', async () => {
    const error = await registerFromEnv({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('DISCORD_TOKEN');
  });

  it('when the definitions are built, then every name and description fits Discord\'s limits', () => {
    for (const command of commandDefinitions()) {
      const names = [command.name, ...Object.values(command.name_localizations ?? {})];
      for (const name of names) expect(name).toMatch(/^[-_\p{L}\p{N}]{1,32}$/u);
      for (const text of [command.description, ...Object.values(command.description_localizations ?? {})].map(String)) {
        expect(text.length).toBeGreaterThan(0);
        expect(text.length).toBeLessThanOrEqual(100);
      }
    }
  });
});

describe('gateway sharding options', () => {
  it('when no shard count is set, then discord.js gets no shard options (one connection)', () => {
    expect(shardOptions({})).toEqual({});
  });

  it('when a count is set without ids, then this process runs every shard; with ids, only those', () => {
    expect(shardOptions({ shardCount: 4 })).toEqual({ shards: [0, 1, 2, 3], shardCount: 4 });
    expect(shardOptions({ shardCount: 4, shardIds: [2, 3] })).toEqual({ shards: [2, 3], shardCount: 4 });
    expect(shardOptions({ shardCount: 'auto' })).toEqual({ shards: 'auto' });
  });
});
