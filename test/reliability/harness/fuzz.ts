import fc from "fast-check";
import { countInputs, figures, measure, violation } from "./figures.ts";

/** Same inputs again: RELIABILITY_SEED=<seed printed with a failure> npm run test:reliability */
const seed = process.env.RELIABILITY_SEED ? Number(process.env.RELIABILITY_SEED) : undefined;

/**
 * Runs a property over real HTTP: `check` sends one input and returns the rules it broke (none: passed).
 * A failure is shrunk to a small counterexample within the time limit and recorded as a violation with its
 * seed; every input tried, shrinking included, is counted.
 */
export async function fuzz<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => Promise<string[]>,
  opts: { numRuns: number; timeLimitMs?: number },
): Promise<void> {
  let lastBroken: string[] = [];
  const started = Date.now();
  const result = await fc.check(
    fc.asyncProperty(arbitrary, async (input) => {
      // What the client's oracle flagged during this input fails the property too (and is shrunk), and is
      // reported once with the counterexample rather than once per shrinking step.
      const before = figures.violations.length;
      const broken = [...(await check(input)), ...figures.violations.splice(before)];
      if (broken.length > 0) lastBroken = broken;
      return broken.length === 0;
    }),
    { numRuns: opts.numRuns, seed, interruptAfterTimeLimit: opts.timeLimitMs ?? 45_000 },
  );
  countInputs(result.numRuns + result.numShrinks);
  measure(`fuzz ${name}`, `${result.numRuns} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (result.failed) {
    violation(
      `hostile input: ${name}`,
      `${lastBroken.join("; ")} | counterexample ${fc.stringify(result.counterexample)} (seed ${result.seed})`,
    );
  }
}
