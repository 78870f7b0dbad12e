/**
 * A small seeded PRNG (mulberry32): every random choice of a fault test comes from one, so a
 * failure is replayed by running the suite again with the printed seed (`FAULT_SEED=<n>`).
 */
export interface Prng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

export function prng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    chance: (p) => next() < p,
  };
}

/**
 * The seed of this run: `FAULT_SEED` when set (to replay a failure), else a fresh one. Printed,
 * with the suite's name, so that every run can be replayed.
 */
export function seedFor(suite: string, file: string = suite): number {
  const fromEnv = process.env.FAULT_SEED;
  const seed = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;
  process.stdout.write(`[${suite}] seed ${seed} (replay with FAULT_SEED=${seed} npm run test:faults -- ${file})\n`);
  return seed;
}
