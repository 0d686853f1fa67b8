import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // End-to-end tests under test/ start real server processes; give them room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    exclude: [...configDefaults.exclude, "**/data/**"],
    // Two cores: files that start whole ensembles must not starve each other of CPU, or
    // heartbeats miss and elections fire that the test did not cause.
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
