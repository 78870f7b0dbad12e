import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const OWNER = 'src/core/redis-keys.ts';

// Lines that look like key building but are not Redis keys.
const ALLOWED: Array<{ file: string; line: RegExp; why: string }> = [
  { file: 'src/config.ts', line: /\.default\('nvb'\)/, why: 'the REDIS_PREFIX default the map is built from' },
  { file: 'test/discord/button-store.test.ts', line: /'nvb:/, why: 'Discord button custom ids of the previous version, and malformed ones' },
];

const RULES: Array<{ name: string; pattern: RegExp }> = [
  { name: 'a key built from a prefix', pattern: /\$\{[^}]*prefix[^}]*\}:/i },
  { name: 'a key family after an interpolation', pattern: /\}:(?:session|identity|creating|refused|flood|quota|stats|inbox|alive|turn|inflight|index|export|delivery|tg|dc|discord|msgmap|msgproj)\b/ },
  { name: 'the default prefix written out', pattern: /['"`]nvb(?::|['"`])/ },
];

/** Every place outside the key map that builds a Redis key string, as `file:line: text`. */
function offenders(file: string, text: string): string[] {
  if (file === OWNER) return [];
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    // Comments build no keys.
    if (/^\s*(?:\/\/|\/\*|\*)/.test(line)) return;
    if (!RULES.some((rule) => rule.pattern.test(line))) return;
    if (ALLOWED.some((allowed) => allowed.file === file && allowed.line.test(line))) return;
    found.push(`${file}:${index + 1}: ${line.trim()}`);
  });
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe('the key map owns every Redis key', () => {
  it('when src/ and adapters/ are read, then no file but the key map builds a Redis key string', () => {
    const files = [...sources('src'), ...sources('adapters')];
    expect(files).toContain(OWNER);
    const found = files.flatMap((file) => offenders(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(found).toEqual([]);
  });

  it('when test/ and bench/ are read, then they take keys from the key map too (the format pins and this check aside)', () => {
    // These spell keys out on purpose: the formats deployed Redis holds, and this check's own examples.
    const pinned = new Set(['test/core/redis-keys.test.ts', 'test/core/redis-keys-tags.test.ts', 'test/core/redis-keys-owner.test.ts']);
    const files = [...sources('test'), ...sources('bench')].filter((file) => !pinned.has(file));
    expect(files).toContain('test/core/inbox.test.ts');
    const found = files.flatMap((file) => offenders(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(found).toEqual([]);
  });

  it('when a store builds a key itself, then the check names it', () => {
    expect(offenders('src/core/new-store.ts', 'return `${this.prefix}:thing:${id}`;')).toHaveLength(1);
    expect(offenders('src/core/new-store.ts', 'const key = `${p}:session:${id}`;')).toHaveLength(1);
    expect(offenders('adapters/x/y.ts', "constructor(private readonly prefix = 'nvb') {}")).toHaveLength(1);
    expect(offenders('adapters/x/y.ts', "await redis.get('nvb:inbox');")).toHaveLength(1);
    expect(offenders(OWNER, 'return `${this.prefix}:inbox`;')).toEqual([]);
    expect(offenders('src/core/new-store.ts', '  /** Key prefix; default `nvb`. */')).toEqual([]);
  });
});
