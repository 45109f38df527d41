import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { Reporter, TestModule, Vitest } from "vitest/node";

type UserConsoleLog = Parameters<NonNullable<Reporter["onUserConsoleLog"]>>[0];

/**
 * Every console line the tests (and the workers under test) print, passing or failing, goes to one file,
 * e.g. test-results/vitest.log, so the terminal can show failures and a summary only (silent: "passed-only")
 * and nothing is lost for a post-mortem. Each line is tagged with its test's name.
 *
 * @example reporters: ["dot", ["./test/setup/log-file-reporter.ts", { outputFile: "test-results/vitest.log" }]]
 */
export default class LogFileReporter implements Reporter {
  private ctx?: Vitest;
  private readonly outputFile: string;

  constructor(options: { outputFile?: string } = {}) {
    this.outputFile = options.outputFile ?? "test-results/vitest.log";
  }

  onInit(ctx: Vitest): void {
    this.ctx = ctx;
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(this.outputFile, "");
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    const task = log.taskId ? this.ctx?.state.idMap.get(log.taskId) : undefined;
    const where = task
      ? `${task.file ? relative(process.cwd(), task.file.filepath) : ""} > ${task.name}`
      : "";
    appendFileSync(this.outputFile, `${log.type} | ${where}\n${log.content.replace(/\n?$/, "\n")}`);
  }

  onTestRunEnd(_modules: ReadonlyArray<TestModule>): void {
    console.log(`Full log of every test (passing ones too): ${this.outputFile}`);
  }
}
