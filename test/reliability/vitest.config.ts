import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { NameSequencer } from "./harness/name-sequencer.ts";

const root = join(import.meta.dirname, "..", "..");
const SUMMARY = "./test/reliability/harness/summary-reporter.ts";
// One folder per run for gateway logs and the ledger; the global setup, the test files (vitest's workers
// inherit the environment) and the summary reporter all find it here.
process.env.RELIABILITY_RUN_DIR ??= join(root, ".cache", "reliability", `run-${Date.now()}`);

/**
 * `npm run test:reliability`: concurrency, faults, hostile input, secrets and authorization against the
 * gateway running as real `wrangler dev` processes on the local stack. Node-side only; files one after the
 * other (they share the processes and take services away from each other).
 */
export default defineConfig({
  root,
  test: {
    name: "reliability",
    include: ["test/reliability/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/reliability/global-setup.ts"],
    setupFiles: ["test/reliability/harness/per-file-setup.ts"],
    fileParallelism: false,
    sequence: { sequencer: NameSequencer },
    testTimeout: 90_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // In CI a JSON report too, for .ci/run's closing "N passed, N failed" line.
    reporters: process.env.CI
      ? ["default", SUMMARY, ["json", { outputFile: "test-results/reliability.json" }]]
      : ["default", SUMMARY],
  },
});
