import { withTimeout } from './with-timeout.js';

/** What `/readyz` asks; a check that throws or does not answer in time counts as failing. */
export interface ReadinessChecks {
  redis(): Promise<boolean>;
  /** Each configured chat platform's connection (e.g. `{ telegram: true }`); absent in `worker` mode. */
  platforms?(): Record<string, boolean>;
  /** Whether the render worker is consuming; absent when this process runs no worker. */
  worker?(): Promise<boolean> | boolean;
}

export interface Readiness {
  ready: boolean;
  /** Every check by name: `redis`, `worker`, `platform:<name>`. */
  checks: Record<string, boolean>;
  /** The names of the failing checks, in the order above. */
  failing: string[];
}

/** Runs every check at once, each bounded by `timeoutMs`. Never throws. */
export async function checkReadiness(checks: ReadinessChecks, timeoutMs: number): Promise<Readiness> {
  const named: Array<[string, () => Promise<boolean> | boolean]> = [['redis', () => checks.redis()]];
  const { worker } = checks;
  if (worker !== undefined) named.push(['worker', () => worker.call(checks)]);
  try {
    for (const [name, up] of Object.entries(checks.platforms?.() ?? {})) named.push([`platform:${name}`, () => up]);
  } catch {
    named.push(['platforms', () => false]);
  }

  const results = await Promise.all(
    named.map(async ([name, check]): Promise<[string, boolean]> => {
      try {
        return [name, (await withTimeout(Promise.resolve(check()), timeoutMs, name)) === true];
      } catch {
        return [name, false];
      }
    }),
  );
  const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
  return { ready: failing.length === 0, checks: Object.fromEntries(results), failing };
}
