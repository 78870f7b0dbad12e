import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault suite (kills, restarts, service faults, fuzzing), apart
// from `npm test` because it takes minutes.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
