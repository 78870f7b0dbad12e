import { createRequire } from 'node:module';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module `name` (without extension) next to `from`, an
 * `import.meta.url`. Under tsx or vitest the sources are TypeScript, and so is the thread's
 * module: tsx is registered in the thread first.
 */
export function spawnThread(from: string, name: string, options: WorkerOptions): Worker {
  const fromSource = from.endsWith('.ts');
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, from);
  if (!fromSource) return new Worker(url, options);
  const tsx = createRequire(from).resolve('tsx/esm/api');
  const boot = `require(${JSON.stringify(tsx)}).register(); import(${JSON.stringify(url.href)});`;
  return new Worker(boot, { ...options, eval: true });
}
