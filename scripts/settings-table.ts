// README's settings table and .env.example, written from the settings declared in src/config.ts:
// `npm run docs:settings`. test/deploy/settings-consistency.test.ts fails when either is not this one.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const ENV_EXAMPLE = fileURLToPath(new URL('../.env.example', import.meta.url));

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

// .env.example's sections, in order: a setting goes to the first whose names or prefixes match it;
// one matching none goes to the last, so a new setting needs no line here.
const ENV_SECTIONS: ReadonlyArray<{ title: string; names: readonly string[] }> = [
  { title: 'NemoVideo', names: ['NEMO_', 'RATE_LIMIT_RETRY_MS'] },
  { title: 'Redis (docker compose sets redis://redis:6379 itself)', names: ['REDIS_'] },
  { title: 'Telegram', names: ['TELEGRAM_'] },
  { title: 'Discord', names: ['DISCORD_'] },
  { title: 'Chat turns', names: ['STILL_WORKING_MS', 'TURN_IDLE_TIMEOUT_MS', 'RECOVERY_', 'SESSION_TTL_DAYS', 'DOCUMENT_MAX_CHARS'] },
  { title: 'Rendering', names: ['RENDER_'] },
  {
    title: 'Access and quotas',
    names: ['ALLOWED_', 'ADMIN_USERS', 'USER_DAILY_', 'MAX_QUEUED_TURNS', 'USER_MESSAGES_PER_MINUTE', 'MAX_LINKS_PER_MESSAGE', 'TOKEN_ENCRYPTION_KEY'],
  },
  { title: 'Process', names: [] },
];

const ENV_HEADER = [
  '# nemo-video-bot settings. Copy to .env and set what you need.',
  '# Written from src/config.ts by `npm run docs:settings`: change the settings there, not here.',
  '# A commented-out line shows the default; an empty value also means the default.',
  "# The README's \"Settings\" table says the same about each one.",
];

/**
 * .env.example: each variable under its section with its `.describe` line as a comment, then
 * `# NAME=default` when it has a default, `NAME=` when it has none (or an empty list).
 */
export function envExample(): string {
  const sections = ENV_SECTIONS.map((section) => ({ ...section, lines: [] as string[] }));
  const last = sections.length - 1;
  for (const [name, schema] of Object.entries(SETTINGS.shape)) {
    const meaning = schema.description;
    if (meaning === undefined) throw new Error(`${name} has no README line: add .describe('…') in src/config.ts`);
    const index = sections.findIndex((section, i) => i === last || section.names.some((prefix) => name.startsWith(prefix)));
    const value = envDefault(schema.parse(undefined));
    const lines = sections[index]?.lines ?? [];
    lines.push(...commentLines(meaning), value === '' ? `${name}=` : `# ${name}=${value}`);
  }
  const body = sections.filter((section) => section.lines.length > 0).map((section) => [`# --- ${section.title} ---`, ...section.lines].join('\n'));
  return `${[ENV_HEADER.join('\n'), ...body].join('\n\n')}\n`;
}

/** The default as .env takes it: a list comma-separated, '' for none. */
function envDefault(value: unknown): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** A `.describe` line as a sentence in comment lines of at most 100 characters. */
function commentLines(meaning: string): string[] {
  const sentence = `${meaning.charAt(0).toUpperCase()}${meaning.slice(1)}${/[.!?]$/.test(meaning) ? '' : '.'}`;
  const lines: string[] = [];
  let line = '#';
  for (const word of sentence.split(' ')) {
    if (line.length > 1 && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
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
  const example = envExample();
  if (readFileSync(ENV_EXAMPLE, 'utf8') === example) {
    console.log('.env.example: up to date');
  } else {
    writeFileSync(ENV_EXAMPLE, example);
    console.log('.env.example: written from src/config.ts');
  }
}
