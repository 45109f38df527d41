import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import { FIGURES_FILE, type FileFigures } from "./figures.ts";

/** Prints the suite's figures as one block after the run, from the ledger every test file appended to. */
export default class SummaryReporter implements Reporter {
  private started = Date.now();

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const runDir = process.env.RELIABILITY_RUN_DIR ?? "";
    const path = join(runDir, FIGURES_FILE);
    const files: FileFigures[] = existsSync(path)
      ? readFileSync(path, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as FileFigures)
      : [];
    const sum = (pick: (file: FileFigures) => number) => files.reduce((total, file) => total + pick(file), 0);
    const violations = files.flatMap((file) => file.violations.map((text) => `${file.file}: ${text}`));
    let failedTests = 0;
    let brokenFiles = 0;
    for (const module of testModules) {
      // A file that failed to load or whose hooks threw has errors of its own and maybe no test at all.
      if (module.errors().length > 0) brokenFiles += 1;
      for (const test of module.children.allTests()) if (test.result().state === "failed") failedTests += 1;
    }
    const lines = [
      "",
      "──────── reliability summary ────────",
      `requests sent      ${sum((file) => file.requestsSent)}`,
      `faults injected    ${sum((file) => file.faultsInjected)}`,
      `inputs tried       ${sum((file) => file.inputsTried)}`,
      `violations found   ${violations.length}`,
      `failed tests       ${failedTests}${brokenFiles ? ` (and ${brokenFiles} file(s) that failed outside any test)` : ""}`,
      `run time           ${((Date.now() - this.started) / 1000).toFixed(1)} s`,
    ];
    const measurements = files.flatMap((file) => Object.entries(file.measurements));
    if (measurements.length > 0) {
      lines.push("", "measurements:");
      for (const [name, value] of measurements) lines.push(`  ${name}: ${oneLine(String(value))}`);
    }
    if (violations.length > 0) {
      lines.push("", "violations:");
      for (const text of violations.slice(0, 50)) lines.push(`  - ${oneLine(text)}`);
      if (violations.length > 50) lines.push(`  ... and ${violations.length - 50} more`);
    }
    lines.push(`logs and ledger: ${runDir}`, "─────────────────────────────────────");
    console.log(lines.join("\n"));
  }
}

/** One line per entry, however long or multi-line a captured body was. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 500 ? `${flat.slice(0, 500)}...` : flat;
}
