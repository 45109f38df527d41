import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Fixed, test-only secrets: the worker under test and the tests that call it share them. */
export const testSecrets = {
  ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
  ORIGIN_SHARED_SECRET: "test-origin-secret-0123456789abcdef",
  STRIPE_WEBHOOK_SECRET: "whsec_test_0123456789abcdef0123456789",
  STRIPE_SECRET_KEY: "sk_test_local_standin",
  RESEND_API_KEY: "re_test_local_standin",
};

/**
 * `npm test` runs twice: the unit lane (`--project unit`, VITEST_LANE=unit) and, when it passes, the lanes
 * with services. Each run keeps its own log and CI report, so the second does not overwrite the first.
 */
const report = process.env.VITEST_LANE === "unit" ? "unit" : "vitest";

export default defineConfig({
  test: {
    // The terminal shows failures (with their logs) and a summary; every log line, passing tests' too, goes
    // to test-results/vitest.log (unit.log for the unit lane). In CI a JSON report too (vitest.json,
    // unit.json), from which .ci/run prints its closing "N passed, N failed" line.
    silent: "passed-only",
    reporters: [
      "dot",
      ["./test/setup/log-file-reporter.ts", { outputFile: `test-results/${report}.log` }],
      ...(process.env.CI
        ? [["json", { outputFile: `test-results/${report}.json` }] as ["json", object]]
        : []),
    ],
    projects: [
      {
        // Pure logic (src modules with no I/O): plain Node, no redis-server, no Postgres, no workerd. Seconds.
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/setup/node-services.ts"],
          testTimeout: 20_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { ...inject("workerVars"), ...testSecrets } },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/setup/worker-services.ts"],
          testTimeout: 20_000,
        },
      },
    ],
  },
});
