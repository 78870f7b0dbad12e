import { describe, expect, it } from 'vitest';
import { settingsTable, withSettingsTable } from '../../scripts/settings-table.js';
import { configDefault, readmeSettings } from './settings-sources.js';

const readme = (table: string): string =>
  ['# bot', '', '## Settings', '', 'Read once at start.', '', table, '', 'More prose.', '', '## Telegram', '', '| a | b |', '| - | - |', ''].join('\n');

describe('README settings table written from src/config.ts', () => {
  it('when the table is written, then each variable has one row with its config default and a meaning', () => {
    const rows = settingsTable().split('\n').slice(2);
    const settings = readmeSettings(readme(settingsTable()));
    expect(settings).toHaveLength(rows.length);
    for (const [i, setting] of settings.entries()) {
      expect({ name: setting.name, defaultValue: setting.defaultValue }).toEqual({ name: setting.name, defaultValue: configDefault(setting.name) });
      expect(rows[i]).toMatch(/^\| `[A-Z0-9_]+` \| [^|]+ \| [^|]{3,} \|$/);
    }
  });

  it('when the defaults are shown, then text is quoted, numbers and flags are bare, and a missing one says unset or empty', () => {
    const row = (name: string) => settingsTable().split('\n').find((line) => line.startsWith(`| \`${name}\` |`))?.split(' | ')[1];
    expect([row('NEMO_API_URL'), row('HTTP_PORT'), row('DISCORD_FREE_TEXT_IN_GUILDS'), row('NEMO_TOKEN'), row('ALLOWED_USERS')]).toEqual([
      '`https://mega-api-prod.nemovideo.ai`',
      '8080',
      'false',
      'unset',
      'empty',
    ]);
  });

  it('when an old table is replaced, then only the Settings table changes and the prose and other tables stay', () => {
    const before = readme('| variable | default | meaning |\n| --- | --- | --- |\n| `OLD` | 1 | gone |');
    const after = withSettingsTable(before);
    expect(after).toBe(readme(settingsTable()));
    expect(withSettingsTable(after)).toBe(after);
  });

  it('when the README has no Settings section or no table in it, then writing it fails with the reason', () => {
    expect(() => withSettingsTable('# bot\n\n## Telegram\n')).toThrow(/no "## Settings" section/);
    expect(() => withSettingsTable('# bot\n\n## Settings\n\nprose only\n\n## Telegram\n')).toThrow(/has no table/);
  });
});
