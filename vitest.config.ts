import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Tests under test/ start real servers and JVMs; on two loaded cores they need room.
    // These limits only end a test that hangs.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    exclude: [...configDefaults.exclude, "**/data/**"],
    // Two cores: files that start whole ensembles must not starve each other of CPU, or
    // heartbeats miss and elections fire that the test did not cause.
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
