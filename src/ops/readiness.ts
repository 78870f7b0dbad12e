import { withTimeout } from './with-timeout.js';

/** A platform's connection with what `/readyz` shows of it (e.g. Discord's gateway state and last close). */
export interface PlatformConnection {
  ready: boolean;
  [detail: string]: unknown;
}

/** What `/readyz` asks; a check that throws or does not answer in time counts as failing. */
export interface ReadinessChecks {
  redis(): Promise<boolean>;
  /** Each configured chat platform's connection (e.g. `{ telegram: true }`); absent in `worker` mode. */
  platforms?(): Record<string, boolean | PlatformConnection>;
  /** Whether the render worker is consuming; absent when this process runs no worker. */
  worker?(): Promise<boolean> | boolean;
}

export interface Readiness {
  ready: boolean;
  /** Every check by name: `redis`, `worker`, `platform:<name>`. */
  checks: Record<string, boolean>;
  /** The names of the failing checks, in the order above. */
  failing: string[];
  /** What the platforms told of their connection, by check name (`platform:discord`). */
  details: Record<string, Record<string, unknown>>;
}

/** Runs every check at once, each bounded by `timeoutMs`. Never throws. */
export async function checkReadiness(checks: ReadinessChecks, timeoutMs: number): Promise<Readiness> {
  const named: Array<[string, () => Promise<boolean> | boolean]> = [['redis', () => checks.redis()]];
  const { worker } = checks;
  if (worker !== undefined) named.push(['worker', () => worker.call(checks)]);
  const details: Record<string, Record<string, unknown>> = {};
  try {
    for (const [name, up] of Object.entries(checks.platforms?.() ?? {})) {
      if (typeof up === 'boolean') {
        named.push([`platform:${name}`, () => up]);
      } else {
        const { ready, ...rest } = up;
        named.push([`platform:${name}`, () => ready]);
        details[`platform:${name}`] = rest;
      }
    }
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
  return { ready: failing.length === 0, checks: Object.fromEntries(results), failing, details };
}
