import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere in seconds; `integration` drives the built CLI against a real
// Docker engine (see scripts/test.sh, which makes sure one is running first).
export default defineConfig({
  test: {
    reporters: ['default', './test/support/count-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // The tests share one Docker engine and a 2-core machine; files run one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
