import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeTelegram } from './fakes/telegram/index.js';
import { plainPdf } from './helpers/document-bombs.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const outs: string[] = [];

afterAll(async () => {
  for (const out of outs) await rm(out, { recursive: true, force: true });
});

/**
 * `entries` and every module they import (relative imports, followed in the output), compiled
 * as `npm run build` compiles them, under node_modules so that they resolve the project's
 * dependencies. Returns the output root; a module keeps its path from the project root.
 */
async function compileTree(name: string, entries: string[]): Promise<string> {
  await mkdir(join(ROOT, 'node_modules/.cache'), { recursive: true });
  const out = await mkdtemp(join(ROOT, `node_modules/.cache/${name}-`));
  outs.push(out);
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  const config = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: ts.CompilerOptions };
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const done = new Set<string>();
  const todo = [...entries];
  for (let path = todo.pop(); path !== undefined; path = todo.pop()) {
    if (done.has(path)) continue;
    done.add(path);
    const source = await readFile(join(ROOT, path), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { ...options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, sourceMap: false },
      fileName: path,
    }).outputText;
    await mkdir(dirname(join(out, path)), { recursive: true });
    await writeFile(join(out, path.replace(/\.ts$/, '.js')), js);
    for (const [, spec] of js.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      todo.push(relative(ROOT, join(ROOT, dirname(path), `${spec}.ts`)));
    }
  }
  return out;
}

/** Runs `script` with a plain `node`: no tsx loader in it or in the worker threads it starts. */
async function runPlain(out: string, script: string): Promise<string> {
  await writeFile(join(out, 'run.js'), script);
  const { stdout } = await promisify(execFile)(process.execPath, [join(out, 'run.js')], { cwd: out, timeout: 60_000 });
  return stdout;
}

describe('worker threads, compiled (the dist build, no tsx)', () => {
  it('when the document pool runs as JavaScript, then it finds its compiled worker and parses in it', async () => {
    const out = await compileTree('document-pool', ['src/core/document-pool.ts', 'src/core/document-worker.ts']);
    await writeFile(join(out, 'sample.pdf'), plainPdf(['Compiled and parsed']));
    const stdout = await runPlain(
      out,
      `const { DocumentPool } = await import(${JSON.stringify(join(out, 'src/core/document-pool.js'))});` +
        `const { readFileSync } = await import('node:fs');` +
        `const parsed = await new DocumentPool().parse('pdf', readFileSync(${JSON.stringify(join(out, 'sample.pdf'))}), 1000);` +
        `process.stdout.write(JSON.stringify(parsed));`,
    );
    expect(JSON.parse(stdout)).toEqual({ raw: 'Compiled and parsed', truncated: false });
  }, 90_000);

  it('when the Telegram update poller runs as JavaScript, then it finds its compiled thread, which shows "typing…" and hands the update over', async () => {
    const tg = await startFakeTelegram();
    try {
      const out = await compileTree('update-poller', ['adapters/telegram/update-poller.ts', 'adapters/telegram/poll-thread.ts']);
      const user = tg.user();
      const chat = tg.privateChat(user);
      tg.say(chat, user, { text: 'compiled hello' });
      const options = {
        api: { apiRoot: tg.url, token: tg.token },
        allowedUpdates: ['message'],
        sign: { identity: { id: tg.bot.id, username: tg.bot.username }, access: { allowedUsers: [], allowedChats: [], adminUsers: [] }, typingIntervalMs: 4000 },
      };
      const stdout = await runPlain(
        out,
        `const { startUpdatePoller } = await import(${JSON.stringify(join(out, 'adapters/telegram/update-poller.js'))});` +
          `const { pino } = await import('pino');` +
          `let poller;` +
          `const texts = await new Promise((resolve) => { poller = startUpdatePoller({ ...${JSON.stringify(options)}, logger: pino({ level: 'silent' }),` +
          ` onUpdates: async (updates) => resolve(updates.map((update) => update.message.text)) }); });` +
          `await poller.stop();` +
          `process.stdout.write(JSON.stringify(texts));`,
      );
      expect(JSON.parse(stdout)).toEqual(['compiled hello']);
      expect(tg.chatActions.map((action) => [action.chatId, action.action])).toEqual([[String(chat.id), 'typing']]);
      expect(tg.unconfirmed()).toBe(0);
    } finally {
      await tg.close();
    }
  }, 90_000);
});
