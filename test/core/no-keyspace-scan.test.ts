import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

// A keyspace walk costs Redis CPU in proportion to every key it holds: sweeps read indexes instead.
const WALKS: RegExp[] = [
  /\.(?:scan|scanStream|scanBufferStream|scanBuffer)\s*\(/i,
  /\bredis\w*\s*\.\s*keys\s*\(/i,
  /\.call\(\s*['"`](?:scan|keys)['"`]/i,
  /['"`](?:SCAN|KEYS)['"`]\s*,/,
];

function offenders(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, index) => (WALKS.some((walk) => walk.test(line)) ? [`${file}:${index + 1}: ${line.trim()}`] : []));
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe('no keyspace walks', () => {
  it('when src/ and adapters/ are read, then nothing calls SCAN or KEYS (in code or in a Lua script)', () => {
    const files = [...sources('src'), ...sources('adapters')];
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((file) => offenders(file, readFileSync(join(ROOT, file), 'utf8')))).toEqual([]);
  });

  it('when a store walks the keyspace, then the check names it', () => {
    expect(offenders('a.ts', "const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern);")).toHaveLength(1);
    expect(offenders('a.ts', 'const all = await redis.keys(pattern);')).toHaveLength(1);
    expect(offenders('a.ts', "const stream = this.redis.scanStream({ match });")).toHaveLength(1);
    expect(offenders('a.ts', "local found = redis.call('KEYS', ARGV[1])")).toHaveLength(1);
    expect(offenders('a.ts', "await redis.call('scan', '0')")).toHaveLength(1);
    expect(offenders('a.ts', 'for (const kind of Object.keys(KINDS)) {}')).toEqual([]);
    expect(offenders('a.ts', 'const pending = [...this.timers.keys()];')).toEqual([]);
  });
});
