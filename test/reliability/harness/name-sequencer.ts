import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Runs the files in name order (01-... to 09-...): the secrets file must come last, since it scans what every
 * other file left behind, and the fault files restart Redis under the files after them.
 */
export class NameSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}
