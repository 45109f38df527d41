// `npm run bench:instructions`: machine instructions per request of the gateway and of the two proxies, each
// worker's workerd run under valgrind's callgrind. Unlike CPU time, an instruction count does not move with
// what else the machine is doing (on this shared 2-core machine two runs of `npm run bench` have differed by
// 0.2x in the throughput ratio), so a change to the hot path can be judged by it in one run. Slow (valgrind
// runs workerd some 50 times slower), so it is a tool for the engineer, not part of CI.
// Options: --requests N (measured per round, 1500), --rounds R (2), --warmup N (3000), --connections N (4),
// --keys N (1), --only TEXT (the workers whose name contains TEXT), --keep-dumps DIR (copies each round's
// callgrind dump there, for `callgrind_annotate --inclusive=yes DIR/FILE`, to see where the instructions go).
// One key by default: valgrind runs the worker some 50 times slower, but a lease still lasts 1 s of the
// clock, so with 10 keys a renewal came every 3 requests (against 1 in 30 or fewer at real speed; see
// docs/BENCHMARK.md), and the count moved by 0.1 M with the machine's load. With one key it repeats to 0.01 M.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalStack } from "../stack/local-stack.ts";
import { createDatabase, dropDatabase } from "../stack/migrate.ts";
import { insertKeys, makeKeys } from "./bench-data.ts";
import { startBenchWorker } from "./bench-worker.ts";
import { createCleanup } from "./cleanup.ts";
import { startLoadClient } from "./load-client.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "1500" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "3000" },
    connections: { type: "string", default: "4" },
    keys: { type: "string", default: "1" },
    only: { type: "string", default: "" },
    "keep-dumps": { type: "string" },
  },
});
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const root = join(import.meta.dirname, "..", "..");
const postgresUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const log = (line: string) => console.error(`[instructions] ${line}`);
const cleanup = createCleanup(log);
process.on("SIGINT", () => void cleanup.run().then(() => process.exit(130)));

for (const tool of ["valgrind", "callgrind_control"]) {
  try {
    execFileSync(tool, ["--version"], { stdio: "ignore" });
  } catch {
    console.error(`[instructions] needs ${tool} (Debian: apt-get install valgrind)`);
    process.exit(2);
  }
}

/** Callgrind's instruction count (Ir) in a dump file. */
function instructionsIn(file: string): number {
  const total = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(file, "utf8"))?.[1];
  if (!total) throw new Error(`no instruction total in ${file}`);
  return Number(total);
}

/** The process group of a running process (field 5 of /proc/PID/stat), or undefined once it has exited. */
function processGroupOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2];
  } catch {
    return undefined;
  }
}

try {
  const stateDir = join(root, ".cache", `instructions-${process.pid}`);
  const dumps = join(stateDir, "callgrind");
  mkdirSync(dumps, { recursive: true });
  cleanup.add("state folder", () => rmSync(stateDir, { recursive: true, force: true }));
  const databaseName = `gw_instr_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const databaseUrl = await createDatabase(postgresUrl, databaseName);
  cleanup.add("database", () => dropDatabase(postgresUrl, databaseName));
  const stack = await startLocalStack({ stateDir, persist: false, databaseUrl, log: () => {} });
  cleanup.add("local stack", () => stack.close());
  const keys = await makeKeys(Number(values.keys), "pro");
  await insertKeys(databaseUrl, keys);
  const load = startLoadClient();
  cleanup.add("load generator", () => load.close());
  await load.defineKeySet(
    "main",
    keys.map((key) => key.key),
  );

  // Miniflare starts the binary MINIFLARE_WORKERD_PATH names: a script that starts workerd under callgrind,
  // counting nothing until told to (callgrind_control -i on), so start-up and warm-up are left out.
  const workerd = createRequire(import.meta.url)("workerd").default as string;
  const wrapper = join(stateDir, "workerd-under-callgrind.sh");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file -q ` +
      `--callgrind-out-file=${dumps}/callgrind.%p.out ${workerd} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  process.env.MINIFLARE_WORKERD_PATH = wrapper;

  const secret = () => randomBytes(24).toString("base64url");
  const gatewayVars = {
    ...stack.workerVars,
    ADMIN_TOKEN: secret(),
    ORIGIN_SHARED_SECRET: secret(),
    STRIPE_SECRET_KEY: "sk_test_instructions",
    STRIPE_WEBHOOK_SECRET: `whsec_${secret()}`,
    KEY_ENVIRONMENT: "test",
  };
  // Under valgrind a worker serves a few dozen requests a second, all within the access log's unsampled
  // share; a busy isolate logs a tenth of them (the default rate). Both are measured.
  const targets: Array<{ name: string; config: string; vars: Record<string, string>; readyPath: string }> = [
    {
      name: "gateway, busy isolate (access log sampled at 0.1)",
      config: join(root, "wrangler.toml"),
      vars: { ...gatewayVars, ACCESS_LOG_UNSAMPLED_PER_SECOND: "0" },
      readyPath: "/health",
    },
    {
      name: "gateway, every request logged",
      config: join(root, "wrangler.toml"),
      vars: { ...gatewayVars, ACCESS_LOG_SAMPLE_RATE: "1" },
      readyPath: "/health",
    },
    {
      name: "bare proxy",
      config: join(import.meta.dirname, "passthrough.wrangler.toml"),
      vars: { ORIGIN_URL: stack.origin.url },
      readyPath: "/__ready",
    },
    {
      name: "lean proxy",
      config: join(import.meta.dirname, "lean-proxy.wrangler.toml"),
      vars: { ORIGIN_URL: stack.origin.url },
      readyPath: "/__ready",
    },
  ];
  const results: Array<{ name: string; perRequest: number[] }> = [];
  const keepDumps = values["keep-dumps"];
  if (keepDumps) mkdirSync(keepDumps, { recursive: true });
  for (const target of targets.filter((candidate) => candidate.name.includes(values.only))) {
    const worker = await startBenchWorker({
      ...target,
      stateDir: join(stateDir, target.name.replace(/[^a-z0-9]+/gi, "-")),
      log,
    });
    cleanup.add(target.name, () => worker.stop());
    const url = `${worker.url}/v1/hello`;
    const run = (amount: number) =>
      load.run({
        url,
        connections: Number(values.connections),
        amount,
        keySet: "main",
        keepLatencies: false,
      });
    await run(Number(values.warmup));
    // The launcher's child in its process group is valgrind running workerd: its pid names the dump files.
    const pid = readdirSync(dumps)
      .map((file) => /^callgrind\.(\d+)\.out$/.exec(file)?.[1])
      .find((found) => found !== undefined && processGroupOf(found) === String(worker.pid));
    if (!pid) throw new Error(`${target.name}: no workerd under callgrind found`);
    const perRequest: number[] = [];
    for (let round = 0; round < rounds; round++) {
      execFileSync("callgrind_control", ["--zero", pid], { stdio: "ignore" });
      execFileSync("callgrind_control", ["--instr=on", pid], { stdio: "ignore" });
      const sample = await run(requests);
      // After-response work (usage flush, lease returns) belongs to the requests that caused it.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const before = new Set(readdirSync(dumps));
      execFileSync("callgrind_control", ["--dump", pid], { stdio: "ignore" });
      execFileSync("callgrind_control", ["--instr=off", pid], { stdio: "ignore" });
      const dump = readdirSync(dumps).find((file) => !before.has(file) && file.includes(`.${pid}.`));
      if (!dump) throw new Error(`${target.name}: callgrind wrote no dump`);
      const ok = sample.statuses[200] ?? 0;
      if (ok !== sample.responses) throw new Error(`${target.name}: ${JSON.stringify(sample.statuses)}`);
      const instructions = instructionsIn(join(dumps, dump)) / sample.responses;
      const slug = target.name.replace(/[^a-z0-9]+/gi, "-");
      if (keepDumps) copyFileSync(join(dumps, dump), join(keepDumps, `${slug}.round-${round + 1}.out`));
      perRequest.push(instructions);
      log(`${target.name}, round ${round + 1}: ${(instructions / 1e6).toFixed(3)} M instructions a request`);
    }
    results.push({ name: target.name, perRequest });
    await worker.stop();
  }

  // Background compilation and GC land in one round or another: the lowest round is the steadiest figure.
  const best = (name: string) => {
    const result = results.find((candidate) => candidate.name === name);
    return result ? Math.min(...result.perRequest) : Number.NaN;
  };
  const [bare, lean] = [best("bare proxy"), best("lean proxy")];
  console.log(`Instructions per request (workerd under callgrind, best of ${rounds} rounds of ${requests})`);
  for (const result of results) {
    const rounds = result.perRequest.map((value) => (value / 1e6).toFixed(3)).join(", ");
    const mine = best(result.name);
    const ratios = result.name.startsWith("gateway")
      ? `  bare / this ${(bare / mine).toFixed(2)}x, lean / this ${(lean / mine).toFixed(2)}x`
      : "";
    console.log(`${result.name.padEnd(52)} ${(mine / 1e6).toFixed(3)} M (rounds ${rounds})${ratios}`);
  }
} finally {
  await cleanup.run();
}
process.exit(0);
