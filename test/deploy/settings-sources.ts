// Reads the settings each deploy-facing file names, for settings-consistency.test.ts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { camelCase, ENV_VARIABLES, loadConfig, type Config } from '../../src/config.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const read = (file: string): string => readFileSync(`${ROOT}${file}`, 'utf8');

/** The variables the zod schema in src/config.ts reads. */
export const configVariables = (): string[] => [...ENV_VARIABLES].sort();

/**
 * The config's default for a variable as text (a list as `a, b`, an empty list as ''); undefined
 * when it has none, as loadConfig gives it with nothing set.
 */
export function configDefault(variable: string): string | undefined {
  const key = camelCase(variable) as keyof Config;
  const config = loadConfig({});
  if (!(key in config)) throw new Error(`${variable}: no Config key ${key}`);
  const value = config[key];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

export interface EnvExampleEntry {
  name: string;
  value: string;
  /** `# NAME=value`: shows a default; `NAME=`: a setting with no default. */
  commented: boolean;
}

export function envExampleEntries(text = read('.env.example')): EnvExampleEntry[] {
  const entries: EnvExampleEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match !== null) entries.push({ commented: match[1] !== undefined, name: match[2] ?? '', value: match[3] ?? '' });
  }
  return entries;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  container_name?: string;
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  [key: string]: unknown;
}

export function composeServices(text = read('docker-compose.yml')): Record<string, ComposeService> {
  return (parse(text) as { services: Record<string, ComposeService> }).services;
}

export interface ReadmeSetting {
  name: string;
  /** The default column for this variable, without backticks: undefined for "unset…", '' for "empty…". */
  defaultValue: string | undefined;
}

/** The rows of the table in the README's "## Settings" section; a row may name several variables. */
export function readmeSettings(text = read('README.md')): ReadmeSetting[] {
  const section = /^## Settings\n([\s\S]*?)(?=^## )/m.exec(text)?.[1];
  if (section === undefined) throw new Error('README has no "## Settings" section');
  const settings: ReadmeSetting[] = [];
  for (const row of section.split('\n').filter((line) => line.startsWith('|'))) {
    const [names = '', defaults = ''] = row.split('|').slice(1).map((cell) => cell.trim());
    if (names === 'variable' || /^-+$/.test(names)) continue;
    const variables = names.split(' / ').map(unquote);
    const values = defaults.split(' / ').map(unquote);
    variables.forEach((name, i) => {
      const value = values.length === variables.length ? values[i] : values[0];
      settings.push({ name, defaultValue: readmeDefault(value ?? '') });
    });
  }
  return settings;
}

const unquote = (cell: string): string => cell.replace(/^`|`$/g, '');

/** "unset (unlimited)" says there is no default; "empty (everyone)" an empty list. */
function readmeDefault(cell: string): string | undefined {
  if (/^unset\b/.test(cell)) return undefined;
  if (/^empty\b/.test(cell)) return '';
  return cell;
}
