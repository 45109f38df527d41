/**
 * Everything the benchmark starts or creates registers how to undo it here; `run()` undoes all of it, newest
 * first, once, whether the run finished, failed or was interrupted (SIGINT/SIGTERM).
 */
export interface Cleanup {
  add(what: string, undo: () => Promise<void> | void): void;
  run(): Promise<void>;
}

export function createCleanup(log: (line: string) => void): Cleanup {
  const steps: Array<{ what: string; undo: () => Promise<void> | void }> = [];
  let running: Promise<void> | undefined;
  return {
    add(what, undo) {
      steps.push({ what, undo });
    },
    run() {
      running ??= (async () => {
        for (const step of steps.reverse()) {
          try {
            await step.undo();
          } catch (error) {
            log(`cleanup: ${step.what} failed: ${(error as Error).message}`);
          }
        }
      })();
      return running;
    },
  };
}
