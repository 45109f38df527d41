import { BaseSequencer, type TestSpecification } from "vitest/node";

/** The file that scans what every other file left behind (logs, keys, bodies). */
const LAST = /-secrets\.test\.ts$/;

/**
 * Runs the files in name order (01-... to 14-...), the secrets file last whatever its number, since it scans
 * what every other file left behind; the fault files restart Redis under the files after them.
 */
export class NameSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => (LAST.test(file.moduleId) ? 1 : 0);
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}
