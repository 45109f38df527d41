import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

/** Keeps recent runs' logs for inspection (and a run going on in another shell), not every run's. */
export function removeOlderRuns(runDir: string): void {
  const parent = join(runDir, "..");
  const cutoff = Date.now() - 15 * 60_000;
  let entries: string[] = [];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(parent, entry);
    if (entry.startsWith("run-") && statSync(path).mtimeMs < cutoff)
      rmSync(path, { recursive: true, force: true });
  }
}
