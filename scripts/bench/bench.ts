// `npm run bench`: what the gateway costs on the hot path, beside the bare proxy and the origin, in one
// interleaved run (docs/BENCHMARK.md). `--smoke` is the fast variant the tests run: tiny phases, one
// concurrency, few keys, and it fails when the counters are not sane.
// Options: --smoke, --rounds N, --duration SECONDS, --concurrencies 1,16,64, --no-write (do not update
// docs/), --json-out FILE, --profile / --no-profile (a CPU profile of the gateway; full runs only by default),
// --exit-with-stdin (stop and clean up when standard input closes: the caller, e.g. a test, is gone),
// --compare A.json B.json ... (print saved runs side by side, run nothing).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createCleanup } from "./cleanup.ts";
import { renderComparison } from "./compare.ts";
import { renderText, writeDocs } from "./report.ts";
import { FULL_OPTIONS, runBench, SMOKE_OPTIONS } from "./run.ts";
import { smokeProblems } from "./smoke-checks.ts";

const root = join(import.meta.dirname, "..", "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    compare: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    concurrencies: { type: "string" },
    profile: { type: "boolean" },
    "no-profile": { type: "boolean" },
    "no-write": { type: "boolean", default: false },
    "json-out": { type: "string" },
    "exit-with-stdin": { type: "boolean", default: false },
  },
});
if (values.compare) {
  if (positionals.length < 2) {
    console.error("[bench] --compare needs two or more saved runs, e.g. docs/bench/*.json");
    process.exit(2);
  }
  try {
    console.log(renderComparison(positionals));
    process.exit(0);
  } catch (error) {
    console.error(`[bench] cannot compare: ${(error as Error).message}`);
    process.exit(2);
  }
}
const options = { ...(values.smoke ? SMOKE_OPTIONS : FULL_OPTIONS) };
if (values.rounds) options.rounds = Math.max(1, Number(values.rounds));
if (values.duration) options.durationSec = Math.max(0.5, Number(values.duration));
if (values.profile) options.profile = true;
if (values["no-profile"]) options.profile = false;
if (values.concurrencies)
  options.concurrencies = values.concurrencies
    .split(",")
    .map(Number)
    .filter((n) => n > 0);

const started = Date.now();
const log = (line: string) =>
  console.error(`[bench +${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}`);
const cleanup = createCleanup(log);
let exitCode: number | undefined;
/** Cleans up (once; a second caller waits for the same cleanup) and exits with the first code asked for. */
async function stop(code: number): Promise<never> {
  exitCode ??= code;
  await cleanup.run();
  process.exit(exitCode);
}
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));
if (values["exit-with-stdin"]) {
  process.stdin.on("end", () => void stop(143));
  process.stdin.resume();
}

try {
  const result = await runBench(options, cleanup, log);
  await cleanup.run();
  console.log(renderText(result));
  if (values["json-out"]) writeFileSync(values["json-out"], `${JSON.stringify(result, null, 2)}\n`);
  // Smoke runs check the counters; only full runs are worth keeping in docs/.
  if (!values.smoke && !values["no-write"]) {
    const written = writeDocs(result, root);
    log(`wrote ${written.json} and ${written.markdown}`);
  }
  const problems = values.smoke ? smokeProblems(result) : [];
  for (const problem of problems) console.error(`[bench] smoke check failed: ${problem}`);
  log(
    `done in ${result.wallSeconds.toFixed(0)} s${values.smoke ? `, smoke checks ${problems.length ? "FAILED" : "passed"}` : ""}`,
  );
  await stop(problems.length ? 1 : 0);
} catch (error) {
  // Interrupted: the cleanup under way is what failed the run, nothing to report.
  if (exitCode === undefined) console.error(`[bench] ${(error as Error).stack ?? error}`);
  await stop(1);
}
