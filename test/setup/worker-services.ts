import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
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
 * TEST_POSTGRES_URL (default: the local server), or an embedded Postgres when none answers. What the stack
 * logs (mails it accepted, webhook deliveries) goes to test-results/test-stack.log, not the terminal, which
 * shows failures and a summary; when the stack cannot start, the error quotes its last lines.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, [join(process.cwd(), "scripts", "test-stack.ts")], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  mkdirSync("test-results", { recursive: true });
  const logFile = createWriteStream(join("test-results", "test-stack.log"));
  const lastLines: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    logFile.write(`${line}\n`);
    lastLines.push(line);
    if (lastLines.length > 20) lastLines.shift();
  });
  const failed = (why: string) => new Error(`${why}; its last lines:\n${lastLines.join("\n")}`);
  const vars = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(failed("the test stack did not start within 60 s")), 60_000);
    child.once("exit", (code) => reject(failed(`the test stack exited with code ${code}`)));
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
    logFile.end();
  };
}
