import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Bindings that point the worker under test at this run's stack. */
    workerVars: Record<string, string>;
  }
}

/**
 * The worker tests' stack: the same local stack `npm run dev` uses (scripts/test-stack.ts), on private
 * resources so tests may write freely: a private redis-server, and a throwaway database on the Postgres at
 * TEST_POSTGRES_URL (default: the local server), or an embedded Postgres when none answers.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, [join(process.cwd(), "scripts", "test-stack.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const vars = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the test stack did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(new Error(`the test stack exited with code ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("READY ")) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice("READY ".length)));
    });
  });
  project.provide("workerVars", vars);
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
}
