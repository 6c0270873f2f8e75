import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn daemons; two cores are shared, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ["default", "./test/reporters/summary.ts"],
  },
});
