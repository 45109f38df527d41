// Runs before each test file (setupFiles): its figures go to the run's ledger when the file ends, whatever
// the outcome, so the summary counts failed files too.
import { relative } from "node:path";
import { afterAll, expect } from "vitest";
import { env } from "./environment.ts";
import { flushFigures } from "./figures.ts";

afterAll(() => {
  const path = expect.getState().testPath;
  flushFigures(env.runDir, path ? relative(process.cwd(), path) : "unknown");
});
