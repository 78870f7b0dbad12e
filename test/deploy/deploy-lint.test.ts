import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { validate } from 'dockerfile-utils';
import { pino } from 'pino';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { startHealthServer } from '../../src/ops/health-server.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { composeServices, configDefault, read, ROOT, type ComposeService } from './settings-sources.js';
import { NODE_FLAGS } from '../../bench/lib/relay-process.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => /^\s*([A-Za-z]+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim() }));
}

/** The stages of a multi-stage Dockerfile, by name. */
function stages(list: Instruction[]): Map<string, Instruction[]> {
  const byName = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  for (const instruction of list) {
    if (instruction.keyword === 'FROM') {
      current = [];
      byName.set(/\sAS\s+(\S+)$/i.exec(instruction.args)?.[1] ?? String(byName.size), current);
    }
    current.push(instruction);
  }
  return byName;
}

/** `.dockerignore` with Docker's rule that the last matching line wins; top-level names only. */
function ignoredByDocker(patterns: string[], name: string): boolean {
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    const regex = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (regex.test(name)) ignored = !negated;
  }
  return ignored;
}

const dockerfile = read('Dockerfile');
const all = instructions(dockerfile);
const byStage = stages(all);
const runtime = [...byStage.values()].at(-1) ?? [];
const args = (list: Instruction[], keyword: string): string[] => list.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('when dockerfile-utils validates it, then it reports nothing', () => {
    expect(validate(dockerfile)).toEqual([]);
  });

  it('when dockerfile-utils validates a broken Dockerfile, then it reports it (the linter is live)', () => {
    const problems = validate('FROM node:24-bookworm-slim\nHEALTHCHECK --interval=5x CMD true\nEXPOSE 80/tcpx\n');
    expect(problems.length).toBeGreaterThanOrEqual(2);
  });

  it('when built, then every stage starts from the pinned Node 24 slim image and the runtime gets production dependencies only', () => {
    expect(args(all, 'FROM').map((from) => from.split(/\s+/)[0])).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim', 'node:24-bookworm-slim']);
    expect(args(byStage.get('deps') ?? [], 'RUN').join(' ')).toMatch(/\bnpm ci --omit=dev\b/);
    expect(args(byStage.get('build') ?? [], 'RUN')).toEqual(['npm ci', 'npm run build']);
    expect(args(runtime, 'COPY')).toContain('--from=deps /app/node_modules ./node_modules');
    expect(args(runtime, 'COPY')).toContain('--from=build /app/dist ./dist');
  });

  it('when run, then it runs as node under tini with NODE_ENV=production and the start script of package.json', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: { start: string } };
    expect(args(runtime, 'USER')).toEqual(['node']);
    expect(args(runtime, 'ENV')).toContain('NODE_ENV=production');
    expect(JSON.parse(args(runtime, 'ENTRYPOINT')[0] ?? '[]')).toEqual(['/usr/bin/tini', '--']);
    const cmd = JSON.parse(args(runtime, 'CMD')[0] ?? '[]') as string[];
    expect(cmd).toEqual([...pkg.scripts.start.split(' '), 'all']);
    expect(pkg.scripts.start).toBe(['node', ...NODE_FLAGS, 'dist/src/main.js'].join(' '));
  });

  it('when apt installs tini and ffmpeg (voice notes), then it skips recommends, answers yes and drops the package lists', () => {
    const apt = args(runtime, 'RUN').find((run) => run.includes('apt-get install')) ?? '';
    expect(apt).toMatch(/apt-get install -y --no-install-recommends tini ffmpeg\b/);
    expect(apt).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
  });

  it('when the build context is sent, then everything the Dockerfile copies is in it and .env files are not', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const sources = all
      .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).filter((part) => !part.startsWith('--')).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'adapters']));
    expect(sources.filter((source) => ignoredByDocker(patterns, source))).toEqual([]);
    for (const secret of ['.env', '.env.local', '.data', 'node_modules', 'dist', '.git']) {
      expect({ secret, ignored: ignoredByDocker(patterns, secret) }).toEqual({ secret, ignored: true });
    }
  });

  it('when the HEALTHCHECK command runs, then it exits 0 while /healthz answers and 1 when nothing listens', async () => {
    const healthcheck = args(runtime, 'HEALTHCHECK')[0] ?? '';
    const command = JSON.parse(/\bCMD\s+(\[.*\])$/.exec(healthcheck)?.[1] ?? '[]') as string[];
    expect(command[0]).toBe('node');
    const run = async (port: number): Promise<number | null> => {
      const child = spawn(process.execPath, command.slice(1), { env: { ...process.env, HTTP_PORT: String(port) }, stdio: 'ignore' });
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    };
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: createMetrics({ defaultMetrics: false }),
      checks: { redis: () => Promise.resolve(false) },
      logger: pino({ level: 'silent' }),
    });

    expect(await run(server.port)).toBe(0);
    await server.close();
    expect(await run(server.port)).toBe(1);
  });
});

describe('docker-compose.yml', () => {
  const services = composeServices();
  // dclint's declaration files import without extensions, so NodeNext loses the message type.
  type LintMessage = { rule: string; message: string };
  const lint = (path: string): Array<{ messages: LintMessage[] }> =>
    new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] }).lintFiles([path], false);

  it('when dclint checks it against the Compose Specification and its rules, then it reports nothing', () => {
    const results = lint(join(ROOT, 'docker-compose.yml'));
    expect(results).toHaveLength(1);
    expect(results[0]?.messages.map((m) => `${m.rule}: ${m.message}`)).toEqual([]);
  });

  it('when dclint checks a compose file with an unknown key, then it reports a schema error (the check is live)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nvb-compose-'));
    try {
      const file = join(dir, 'docker-compose.yml');
      await writeFile(file, "name: x\nservices:\n  app:\n    image: 'redis:7-alpine'\n    restart_policy: always\n");
      const [result] = lint(file);
      expect(result?.messages.map((m) => m.rule)).toContain('invalid-schema');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when the worker is scaled, then nothing pins it: no container name, no host port', () => {
    expect(services.worker?.container_name).toBeUndefined();
    expect(services.worker?.ports).toBeUndefined();
    expect(services.bot?.container_name).toBeUndefined();
  });

  it('when started, then bot and worker run their role from one image after Redis is healthy', () => {
    for (const role of ['bot', 'worker']) {
      const service = services[role];
      expect(service?.image).toBe(services.bot?.image);
      // With the V8 flags the relay benchmark measures the worker with.
      expect(service?.command).toEqual(['node', ...NODE_FLAGS, 'dist/src/main.js', role]);
      expect(service?.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
      expect(service?.env_file).toBe('.env');
      expect(service?.restart).toBe('unless-stopped');
    }
  });

  it('when Docker stops a container, then its grace period outlasts the default shutdown deadline plus 5 s of closing', () => {
    const deadlineMs = Number(configDefault('SHUTDOWN_TIMEOUT_MS')) + 5000;
    for (const role of ['bot', 'worker']) {
      const grace = /^(\d+)s$/.exec(String(services[role]?.stop_grace_period))?.[1];
      expect(Number(grace) * 1000).toBeGreaterThan(deadlineMs);
    }
  });

  it('when Redis runs, then it keeps an append-only file on a named volume, never evicts, and has a ping healthcheck', () => {
    const redis = services.redis;
    expect(redis?.image).toBe('redis:7-alpine');
    expect(redis?.command?.join(' ')).toBe('redis-server --appendonly yes --appendfsync everysec --maxmemory-policy noeviction');
    expect(redis?.volumes).toEqual(['redis-data:/data']);
    expect((redis?.healthcheck as { test?: string[] } | undefined)?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(Object.keys((parse(read('docker-compose.yml')) as { volumes: Record<string, unknown> }).volumes)).toEqual(['redis-data', 'telegram-bot-api-data']);
  });

  it('when the local-bot-api profile is chosen, then Telegram’s Bot API server runs in --local mode with its credentials from .env, and the bot reads its files by path', () => {
    const server = services['telegram-bot-api'] as (ComposeService & { profiles?: string[] }) | undefined;
    expect(server?.profiles).toEqual(['local-bot-api']);
    expect(server?.image).toMatch(/^aiogram\/telegram-bot-api:\d+\.\d+$/);
    expect(server?.environment).toEqual({
      TELEGRAM_API_ID: '${TELEGRAM_API_ID:-}',
      TELEGRAM_API_HASH: '${TELEGRAM_API_HASH:-}',
      TELEGRAM_LOCAL: '${TELEGRAM_LOCAL:-1}',
    });
    expect(server?.volumes).toEqual(['telegram-bot-api-data:/var/lib/telegram-bot-api']);
    // Not started without the profile, and no host port: only the bot and the worker reach it.
    expect(server?.ports).toBeUndefined();
    expect(services.bot?.volumes).toEqual(['telegram-bot-api-data:/var/lib/telegram-bot-api:ro']);
    // The README says how to point the bot at it.
    const readme = read('README.md');
    expect(readme).toContain('docker compose --profile local-bot-api up -d');
    expect(readme).toContain('TELEGRAM_API_ROOT=http://telegram-bot-api:8081');
  });
});
