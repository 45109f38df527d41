// `npm run deploy -- --env staging|production [--check | --gradual PCT | --promote VERSION | --rollback [VERSION]]`
// Checks the configuration (routes, vars, plans' Stripe prices, required secrets), applies pending migrations
// to DATABASE_URL, then deploys: all at once, or gradually as a new version taking PCT% of the traffic.
// Refuses, listing every problem, when anything is missing. See docs/DEPLOY.md.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { plans } from "../src/plans/plans.ts";
import { configProblems, configWarnings, readDeployTarget } from "./deploy/config-checks.ts";
import { secretNames, uploadVersion, wrangler } from "./deploy/wrangler-cli.ts";
import { applyMigrations } from "./stack/migrate.ts";

const { values } = parseArgs({
  options: {
    env: { type: "string" },
    check: { type: "boolean", default: false },
    gradual: { type: "string" },
    promote: { type: "string" },
    rollback: { type: "boolean", default: false },
  },
  allowPositionals: true,
});

function fail(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(1);
}

const env = values.env;
if (env !== "staging" && env !== "production")
  fail("say which environment: --env staging or --env production");

if (values.promote) {
  const result = wrangler(["versions", "deploy", `${values.promote}@100%`, "--env", env, "--yes"], {
    inherit: true,
  });
  process.exit(result.ok ? 0 : 1);
}
if (values.rollback) {
  const result = wrangler(["rollback", "--env", env, "--message", "npm run deploy -- --rollback"], {
    inherit: true,
  });
  process.exit(result.ok ? 0 : 1);
}

const target = readDeployTarget(join(import.meta.dirname, "..", "wrangler.toml"), env);
for (const warning of configWarnings(target)) console.warn(`deploy: warning: ${warning}`);
const problems = configProblems(target, plans, secretNames(env));
if (!process.env.DATABASE_URL) {
  problems.push("DATABASE_URL is not set in this shell: migrations need the environment's database URL");
}
if (problems.length > 0) {
  fail(`refusing to deploy ${env}:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
}
console.log(`deploy: ${env} configuration checked`);
if (values.check) process.exit(0);

// Migrations first: new code may need new columns; our migrations only add, so old code keeps working.
await applyMigrations(process.env.DATABASE_URL as string);
console.log("deploy: migrations applied");

if (values.gradual) {
  const percent = Number(values.gradual);
  if (!Number.isInteger(percent) || percent < 1 || percent > 100)
    fail("--gradual takes a whole percentage, 1-100");
  const current = currentVersion(env);
  const next = uploadVersion(env);
  const specs =
    current && percent < 100 ? [`${next}@${percent}%`, `${current}@${100 - percent}%`] : [`${next}@100%`];
  const result = wrangler(["versions", "deploy", ...specs, "--env", env, "--yes"], { inherit: true });
  if (!result.ok) fail("wrangler versions deploy failed");
  console.log(`deploy: version ${next} takes ${percent}% of ${env}'s traffic.`);
  console.log(`  watch it, then: npm run deploy -- --env ${env} --promote ${next}`);
  console.log(`  or undo it:     npm run deploy -- --env ${env} --rollback`);
} else {
  const result = wrangler(["deploy", "--env", env], { inherit: true });
  process.exit(result.ok ? 0 : 1);
}

function currentVersion(environment: string): string | undefined {
  const result = wrangler(["deployments", "status", "--env", environment, "--json"]);
  if (!result.ok) return undefined;
  try {
    const status = JSON.parse(result.stdout) as {
      versions?: Array<{ version_id: string; percentage: number }>;
    };
    return status.versions?.sort((a, b) => b.percentage - a.percentage)[0]?.version_id;
  } catch {
    return undefined;
  }
}
