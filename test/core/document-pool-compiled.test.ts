import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { plainPdf } from '../helpers/document-bombs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// What the pool and its worker import: compiled as `npm run build` compiles them.
const MODULES = ['documents', 'document-pool', 'document-worker', 'document-parsers', 'document-error', 'docx-zip-check'];
let out: string | undefined;

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('the document pool, compiled', () => {
  it('when it runs as JavaScript (the dist build, no tsx), then it finds its compiled worker and parses in it', async () => {
    // Under node_modules so that the compiled files resolve the project's dependencies.
    await mkdir(join(ROOT, 'node_modules/.cache'), { recursive: true });
    out = await mkdtemp(join(ROOT, 'node_modules/.cache/document-pool-'));
    await mkdir(join(out, 'src/core'), { recursive: true });
    await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
    const config = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: ts.CompilerOptions };
    const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
    for (const name of MODULES) {
      const source = await readFile(join(ROOT, 'src/core', `${name}.ts`), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { ...options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, sourceMap: false }, fileName: `${name}.ts` }).outputText;
      await writeFile(join(out, 'src/core', `${name}.js`), js);
    }
    await writeFile(join(out, 'sample.pdf'), plainPdf(['Compiled and parsed']));
    const script =
      `const { DocumentPool } = await import(${JSON.stringify(join(out, 'src/core/document-pool.js'))});` +
      `const { readFileSync } = await import('node:fs');` +
      `const parsed = await new DocumentPool().parse('pdf', readFileSync(${JSON.stringify(join(out, 'sample.pdf'))}), 1000);` +
      `process.stdout.write(JSON.stringify(parsed));`;
    await writeFile(join(out, 'run.js'), script);
    // A plain `node`: no tsx loader in it or in the worker thread it starts.
    const { stdout } = await promisify(execFile)(process.execPath, [join(out, 'run.js')], { cwd: out, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ raw: 'Compiled and parsed', truncated: false });
  }, 90_000);
});
