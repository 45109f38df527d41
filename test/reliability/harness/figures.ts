import { appendFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The figures the suite reports, counted per test file and appended to the run's ledger when the file ends
 * (ledger.ts); the summary reporter adds them up. A violation is a broken promise of the gateway (a 500, a
 * leaked secret, one request too many admitted...): each fails its test and is listed in the summary.
 */
export interface FileFigures {
  file: string;
  requestsSent: number;
  faultsInjected: number;
  inputsTried: number;
  violations: string[];
  /** Named measurements worth printing, e.g. "concurrency: admitted of 500 over 2 processes". */
  measurements: Record<string, string | number>;
}

export const figures: FileFigures = {
  file: "",
  requestsSent: 0,
  faultsInjected: 0,
  inputsTried: 0,
  violations: [],
  measurements: {},
};

export function countRequest(n = 1): void {
  figures.requestsSent += n;
}

export function countFault(): void {
  figures.faultsInjected += 1;
}

export function countInputs(n: number): void {
  figures.inputsTried += n;
}

export function measure(name: string, value: string | number): void {
  figures.measurements[name] = value;
}

/** Records a violation; the test that found it asserts none at its end (see expectNoViolations). */
export function violation(area: string, detail: string): void {
  figures.violations.push(`${area}: ${detail}`);
}

/** Records a violation unless `ok`; returns `ok` so callers can branch on it. */
export function verify(ok: boolean, area: string, detail: () => string): boolean {
  if (!ok) violation(area, detail());
  return ok;
}

/** A mark to pass to violationsSince() at the end of a test. */
export function violationMark(): number {
  return figures.violations.length;
}

export function violationsSince(mark: number): string[] {
  return figures.violations.slice(mark);
}

export const FIGURES_FILE = "figures.jsonl";

/** Appends this file's figures to the ledger (one JSON line) for the reporter. */
export function flushFigures(runDir: string, file: string): void {
  appendFileSync(join(runDir, FIGURES_FILE), `${JSON.stringify({ ...figures, file })}\n`);
}
