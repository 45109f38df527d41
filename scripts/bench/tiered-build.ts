import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tierIds } from "../../src/plans/plans.ts";

/**
 * The gateway with more tiers than the project defines, for the benchmark's "tiers in use" phases: plans are
 * code (src/plans/plans.ts), so a copy of the sources gets extra tiers appended to the plan list (each a
 * pro-like plan with limits of its own, no Stripe prices), and is bundled and run like the real one. Nothing
 * in the project is changed. Throws when plans.ts no longer has the shape this edits, so a refactor there
 * shows up here rather than as a silently different benchmark.
 */
export function prepareTieredProject(
  root: string,
  dir: string,
  tierCount: number,
): { config: string; tiers: string[] } {
  if (tierCount < tierIds.length) throw new Error(`the project already defines ${tierIds.length} tiers`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
  // The copy sits inside the project, so bundling still resolves the project's node_modules.
  const config = join(dir, "wrangler.toml");
  // [assets] directory is relative to the config: point the copy at the project's own (the reference's bundle).
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8").replace(
    /^directory = "([^"]+)"$/m,
    (_, directory: string) => `directory = ${JSON.stringify(join(root, directory))}`,
  );
  writeFileSync(config, toml);

  const extra = Array.from(
    { length: tierCount - tierIds.length },
    (_, i) => `bench_t${i + tierIds.length + 1}`,
  );
  const tiers = [...tierIds, ...extra];
  const plansFile = join(dir, "src", "plans", "plans.ts");
  const source = readFileSync(plansFile, "utf8");
  const idList = `export const tierIds = [${tierIds.map((id) => JSON.stringify(id)).join(", ")}] as const;`;
  const definitionsStart = /const definitions: Record<TierId, [^>]+>> = \{\n/;
  if (!source.includes(idList) || !definitionsStart.test(source)) {
    throw new Error(
      "src/plans/plans.ts no longer has the tierIds list and definitions object that scripts/bench/tiered-build.ts extends",
    );
  }
  const definitions = extra
    .map((tier, i) => {
      // Distinct limits per tier, all far above what a phase sends a key.
      const requests = 6000 + 100 * (i + 1);
      return `  ${tier}: {
    name: "Benchmark tier ${i + tierIds.length + 1}",
    rateLimit: { requests: ${requests}, windowSeconds: 60 },
    burst: { capacity: 1000, refillPerSecond: 200 },
    monthlyQuota: ${5_000_000 + i},
    stripePriceIds: { test: [], live: [] },
    display: { price: "-", summary: "benchmark", features: [] },
  },\n`;
    })
    .join("");
  writeFileSync(
    plansFile,
    source
      .replace(
        idList,
        `export const tierIds = [${tiers.map((id) => JSON.stringify(id)).join(", ")}] as const;`,
      )
      .replace(definitionsStart, (start) => `${start}${definitions}`),
  );
  return { config, tiers };
}
