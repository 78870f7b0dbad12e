// README's settings table, written from the settings declared in src/config.ts: `npm run docs:settings`.
// test/deploy/settings-consistency.test.ts fails when the README's table is not this one.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** One row per variable, in declaration order: its default as the config gives it and its `.describe` line. */
export function settingsTable(): string {
  const rows = ['| variable | default | meaning |', '| --- | --- | --- |'];
  for (const [name, schema] of Object.entries(SETTINGS.shape)) {
    const meaning = schema.description;
    if (meaning === undefined) throw new Error(`${name} has no README line: add .describe('…') in src/config.ts`);
    if (/[|\n]/.test(meaning)) throw new Error(`${name}: a README line may hold neither | nor a line break`);
    rows.push(`| \`${name}\` | ${shownDefault(schema.parse(undefined))} | ${meaning} |`);
  }
  return rows.join('\n');
}

/** "unset" (no default), "empty" (an empty list), a number or flag as is, text in backticks. */
function shownDefault(value: unknown): string {
  if (value === undefined) return 'unset';
  if (Array.isArray(value)) return value.length === 0 ? 'empty' : `\`${value.join(', ')}\``;
  return typeof value === 'string' ? `\`${value}\`` : String(value);
}

/** The README with the table of its "## Settings" section replaced by `table`; the prose around it is kept. */
export function withSettingsTable(readme: string, table = settingsTable()): string {
  const section = /^## Settings\n[\s\S]*?(?=^## |(?![\s\S]))/m.exec(readme);
  if (section === null) throw new Error('README has no "## Settings" section');
  const current = /^\|.*\|$(?:\n\|.*\|$)*/m.exec(section[0]);
  if (current === null) throw new Error('README\'s "## Settings" section has no table');
  const start = section.index + current.index;
  return `${readme.slice(0, start)}${table}${readme.slice(start + current[0].length)}`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const before = readFileSync(README, 'utf8');
  const after = withSettingsTable(before);
  if (after === before) {
    console.log('README.md: the settings table is up to date');
  } else {
    writeFileSync(README, after);
    console.log('README.md: settings table written from src/config.ts');
  }
}
