import { readFileSync } from 'node:fs';
import { Telegram } from 'telegraf';
import { afterEach, describe, expect, it } from 'vitest';
import { commandDefinitions, registerCommands as registerSlashCommands } from '../../adapters/discord/commands.js';
import { createDiscordRest } from '../../adapters/discord/discord-rest.js';
import { BUTTON_ACTIONS, COMMANDS, buttonRows, telegramKnownCommands, type CommandSpec } from '../../src/core/commands.js';
import { createRouter, route } from '../../src/core/router.js';
import { answerButtons } from '../../src/core/turn-runner.js';
import { KNOWN_COMMANDS, menuCommands, registerCommands as registerTelegramMenu } from '../../adapters/telegram/commands.js';
import { telegrafApiRoot } from '../../adapters/telegram/telegram-outbox.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';

/** The payloads as they were before the command table existed (captured from the old hand-written lists), plus `/projects`. */
const before = JSON.parse(readFileSync(new URL('./fixtures/command-payloads.json', import.meta.url), 'utf8')) as {
  telegram: { en: unknown[]; zh: unknown[]; knownInGroups: string[] };
  discord: unknown[];
};

/** A command someone adds: a row in a copy of the table, nothing else. */
const UNDO: CommandSpec = {
  name: 'undo',
  action: 'undo',
  keywords: { en: ['undo'], zh: ['撤销'] },
  telegram: { description: { en: 'Take back the last change', zh: '撤销上一次修改' } },
  discord: { order: 7, nameZh: '撤销', description: { en: 'Take back the last change', zh: '撤销上一次修改' } },
  // A real one gets its own `buttonUndo` sentence in i18n.ts.
  button: { order: 5, label: 'buttonNew' },
};
const withUndo: readonly CommandSpec[] = [...COMMANDS, UNDO];

let tg: FakeTelegram | undefined;
let discord: FakeDiscord | undefined;
afterEach(async () => {
  await tg?.close();
  if (discord) {
    expect(discord.violations).toEqual([]);
    await discord.close();
  }
  tg = undefined;
  discord = undefined;
});

describe('command table', () => {
  it('when the bot registers its commands, then Telegram and Discord receive exactly the payloads of before the table', async () => {
    tg = await startFakeTelegram();
    await registerTelegramMenu(new Telegram(tg.token, { apiRoot: telegrafApiRoot(tg.url) }));
    expect(tg.commands.get('default')).toEqual(before.telegram.en);
    expect(tg.commands.get('zh')).toEqual(before.telegram.zh);
    expect(tg.violations).toEqual([]);
    expect([...KNOWN_COMMANDS].sort()).toEqual(before.telegram.knownInGroups);

    discord = await startFakeDiscord();
    const rest = createDiscordRest({ token: discord.token, apiUrl: discord.apiUrl });
    await registerSlashCommands(rest, discord.applicationId, discord.guildId);
    expect(commandDefinitions()).toEqual(before.discord);
    // The fake stores what went over the wire: the same JSON, in the same order.
    const all = discord.commands.guild.get(discord.guildId) ?? [];
    // After the slash commands, the message command "Continue this project" (right-click → Apps).
    expect(all.at(-1)).toMatchObject({ type: 3, name: 'Continue this project', name_localizations: { 'zh-CN': '继续这个项目' } });
    const registered = all.slice(0, -1);
    expect(registered.map((c) => c.name)).toEqual(before.discord.map((c) => (c as { name: string }).name));
    expect(registered.map((c) => c.description_localizations?.['zh-CN'])).toEqual(
      before.discord.map((c) => (c as { description_localizations: Record<string, string> }).description_localizations['zh-CN']),
    );
  });

  it('when a command is added to the table, then the Telegram menu, its group commands and the Discord slash commands include it', async () => {
    const en = menuCommands('en', withUndo);
    expect(en.at(-1)).toEqual({ command: 'undo', description: 'Take back the last change' });
    expect(en.slice(0, -1)).toEqual(before.telegram.en);
    expect(menuCommands('zh', withUndo).at(-1)).toEqual({ command: 'undo', description: '撤销上一次修改' });
    expect(telegramKnownCommands(withUndo).has('undo')).toBe(true);
    expect(telegramKnownCommands(COMMANDS).has('undo')).toBe(false);

    const slash = commandDefinitions(withUndo);
    expect(slash.slice(0, -1)).toEqual(before.discord);
    expect(slash.at(-1)).toMatchObject({
      name: 'undo',
      name_localizations: { 'zh-CN': '撤销' },
      description: 'Take back the last change',
      description_localizations: { 'zh-CN': '撤销上一次修改' },
    });

    // Over the wire too: the fakes check Telegram's and Discord's rules on names and descriptions.
    tg = await startFakeTelegram();
    await registerTelegramMenu(new Telegram(tg.token, { apiRoot: telegrafApiRoot(tg.url) }), withUndo);
    expect(tg.commands.get('default')?.map((c) => c.command)).toContain('undo');
    expect(tg.commands.get('zh')?.map((c) => c.description)).toContain('撤销上一次修改');
    expect(tg.violations).toEqual([]);

    discord = await startFakeDiscord();
    const rest = createDiscordRest({ token: discord.token, apiUrl: discord.apiUrl });
    expect(await registerSlashCommands(rest, discord.applicationId, discord.guildId, withUndo)).toEqual({ scope: 'guild', count: before.discord.length + 2 });
    expect(discord.commands.guild.get(discord.guildId)?.at(-2)?.name).toBe('undo');

    expect(buttonRows(withUndo).map((row) => row.action)).toEqual([...buttonRows().map((row) => row.action), 'undo']);
  });

  it('when a command is added to the table, then the router knows it as /name and by its keywords, in English and Chinese', () => {
    const router = createRouter(withUndo);
    expect(router('/undo', false)).toEqual({ action: 'undo', text: '', command: 'undo' });
    expect(router('/UNDO@nemo_bot last two', false)).toEqual({ action: 'undo', text: 'last two', command: 'undo' });
    expect(router('undo it please', false)).toEqual({ action: 'undo', text: '' });
    expect(router('请撤销一下', false)).toEqual({ action: 'undo', text: '' });
    // Two commands' keywords in one message is no command: the agent gets it.
    expect(router('undo the export', false).action).toBe('chat');
    // The real table does not know it.
    expect(route('/undo', false).action).toBe('unknown_command');
    expect(route('undo it please', false).action).toBe('chat');
  });

  it('when the router is built from the table, then every typed command and keyword routes to its own action', () => {
    for (const row of COMMANDS) {
      if (!('action' in row)) {
        expect(route(`/${row.name}`, false).action).toBe('unknown_command');
        continue;
      }
      expect(route(`/${row.name}`, false).action).toBe(row.action);
      for (const word of 'keywords' in row ? [...row.keywords.en, ...row.keywords.zh] : []) {
        expect(route(word, false), word).toEqual({ action: row.action, text: '' });
      }
    }
  });

  it('when the table is read, then no name, keyword, slash-command place or button place is used twice', () => {
    const rows: readonly CommandSpec[] = COMMANDS;
    const unique = (values: readonly unknown[]) => expect(new Set(values).size, JSON.stringify(values)).toBe(values.length);
    unique(rows.map((row) => row.name));
    unique(rows.flatMap((row) => row.keywords?.en.map((word) => word.toLowerCase()) ?? []));
    unique(rows.flatMap((row) => row.keywords?.zh ?? []));
    unique(rows.flatMap((row) => (row.discord ? [row.discord.order] : [])));
    unique(rows.flatMap((row) => (row.discord ? [row.discord.nameZh] : [])));
    unique(rows.flatMap((row) => (row.button ? [row.button.order] : [])));
    for (const row of rows) expect(row.name).toMatch(/^[a-z0-9_]{1,32}$/);
  });

  it('when an answer gets its buttons, then they are the table\'s buttons in their order, labelled in the person\'s language', () => {
    expect(answerButtons('en')).toEqual([
      { label: 'Export', action: 'export' },
      { label: 'Status', action: 'status' },
      { label: 'Credits', action: 'credits' },
      { label: 'New project', action: 'new' },
      { label: 'Projects', action: 'projects' },
    ]);
    expect(answerButtons('zh').map((b) => b.label)).toEqual(['导出', '状态', '积分', '新项目', '项目']);
    // Then the project list's buttons (one per project).
    expect(BUTTON_ACTIONS).toEqual(['export', 'status', 'credits', 'new', 'projects', 'switch']);
  });
});
