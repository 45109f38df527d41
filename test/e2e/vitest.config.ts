import { defineConfig } from "vitest/config";

/**
 * End-to-end tests: headless Chromium (Debian's) against `npm run dev` (scripts/dev.ts), in Node.
 * `npm run test:e2e`. Screenshots of every page land in test-results/portal/ (git-ignored).
 */
export default defineConfig({
  test: {
    name: "e2e",
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.e2e.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 240_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results/e2e.json" }]] : ["default"],
  },
});
