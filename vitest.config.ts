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

export default defineConfig({
  test: {
    // The terminal shows failures (with their logs) and a summary; every log line, passing tests' too, goes
    // to test-results/vitest.log. In CI a JSON report too, from which .ci/run prints its closing
    // "N passed, N failed" line.
    silent: "passed-only",
    reporters: [
      "dot",
      ["./test/setup/log-file-reporter.ts", { outputFile: "test-results/vitest.log" }],
      ...(process.env.CI ? [["json", { outputFile: "test-results/vitest.json" }] as ["json", object]] : []),
    ],
    projects: [
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
