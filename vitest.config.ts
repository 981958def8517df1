import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'pieces/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/helpers/global-setup.ts'],
    // one test file at a time: each starts its own worker threads and servers on a 2-core machine,
    // and the parallelism test measures wall time
    fileParallelism: false,
  },
})
