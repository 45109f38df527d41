import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { settingsProblems } from "../../src/config/parse-settings.ts";

/** What `npm run deploy` reads from wrangler.toml for one environment. */
export interface DeployTarget {
  env: string;
  vars: Record<string, string>;
  routes: Array<{ pattern: string }>;
  requiredSecrets: string[];
  crons: string[];
}

export function readDeployTarget(wranglerTomlPath: string, env: string): DeployTarget {
  const config = parse(readFileSync(wranglerTomlPath, "utf8")) as Record<string, unknown>;
  const envs = (config.env ?? {}) as Record<string, Record<string, unknown>>;
  const section = envs[env];
  if (!section) throw new Error(`wrangler.toml has no [env.${env}] section`);
  return {
    env,
    vars: (section.vars ?? {}) as Record<string, string>,
    routes: ((section.routes ?? []) as Array<{ pattern: string }>).map((route) => ({
      pattern: route.pattern,
    })),
    requiredSecrets: ((section.secrets as { required?: string[] } | undefined)?.required ?? []) as string[],
    crons: ((config.triggers as { crons?: string[] } | undefined)?.crons ?? []) as string[],
  };
}

/** A plan as the deploy check needs it (a structural subset of src/plans/plans.ts's Plan). */
export interface PlanForCheck {
  name: string;
  stripePriceIds: { test: string[]; live: string[] };
  /** Usage is reported to Stripe's meter; then a metered price must bill it. */
  metered?: boolean;
  stripeMeteredPriceIds?: { test: string[]; live: string[] };
}

/**
 * Everything that would make a deployment broken or unsafe, as sentences an operator can act on. Empty
 * means the configuration may be deployed. Secret values are never read: only their names are compared.
 */
export function configProblems(
  target: DeployTarget,
  plans: Record<string, PlanForCheck>,
  presentSecrets: string[] | undefined,
): string[] {
  const problems: string[] = [];
  const { vars, env } = target;
  const production = env === "production";
  if (!vars.ORIGIN_URL) problems.push(`[env.${env}.vars] ORIGIN_URL is missing`);
  else {
    if (production && !vars.ORIGIN_URL.startsWith("https://")) {
      problems.push(`ORIGIN_URL must use https in production (got ${vars.ORIGIN_URL})`);
    }
    if (/example\.(com|org|net)/.test(vars.ORIGIN_URL))
      problems.push("ORIGIN_URL still points at example.com: set your origin");
  }
  // The gateway's own links (Checkout returns, mail links, code samples) must not follow a client's Host header
  // (src/lib/public-origin.ts): every deployed environment names its public URL.
  if (!vars.PORTAL_URL) {
    problems.push(
      `[env.${env}.vars] PORTAL_URL is missing: set the gateway's public URL (e.g. https://api.acme.dev); without it links would follow the request's Host header`,
    );
  } else {
    if (production && !vars.PORTAL_URL.startsWith("https://")) {
      problems.push(`PORTAL_URL must use https in production (got ${vars.PORTAL_URL})`);
    }
    if (/example\.(com|org|net)/.test(vars.PORTAL_URL))
      problems.push("PORTAL_URL still points at example.com: set your gateway's public URL");
  }
  // Every var through the worker's own schema: a misspelt name or an invalid value fails here, not at runtime.
  // (Its "PORTAL_URL is required when KEY_ENVIRONMENT is live" is the rule above, said for every environment.)
  const settings = settingsProblems(vars);
  problems.push(...settings.problems.filter((problem) => !problem.startsWith("PORTAL_URL is required")));
  if (target.routes.length === 0) problems.push(`[env.${env}] has no routes: add your API's hostname`);
  for (const route of target.routes) {
    if (/example\.(com|org|net)/.test(route.pattern))
      problems.push(`route ${route.pattern} is the example: set your hostname`);
  }
  if (production && vars.KEY_ENVIRONMENT !== "live")
    problems.push('KEY_ENVIRONMENT must be "live" in production');
  if (target.crons.length === 0)
    problems.push("no Cron Trigger: expired keys would never be retired nor usage rolled up");

  const keyEnvironment = vars.KEY_ENVIRONMENT === "live" ? "live" : "test";
  // Every tier but free is bought through Stripe: without a price id for this environment nobody can buy it.
  for (const [tier, plan] of Object.entries(plans)) {
    if (tier !== "free" && plan.stripePriceIds[keyEnvironment].length === 0) {
      problems.push(`plan ${tier} has no ${keyEnvironment} Stripe price id in src/plans/plans.ts`);
    }
    // A metered plan without a metered price: usage would be reported to the meter but never billed.
    if (plan.metered && (plan.stripeMeteredPriceIds?.[keyEnvironment].length ?? 0) === 0) {
      problems.push(
        `plan ${tier} is metered but has no ${keyEnvironment} metered Stripe price (stripeMeteredPriceIds) in src/plans/plans.ts: its usage would never be billed`,
      );
    }
  }

  if (presentSecrets === undefined) {
    problems.push(
      "could not list the environment's secrets (wrangler secret list): log in with `wrangler login`",
    );
  } else {
    for (const name of target.requiredSecrets) {
      if (!presentSecrets.includes(name)) {
        problems.push(`secret ${name} is not set: wrangler secret put ${name} --env ${env}`);
      }
    }
  }
  return problems;
}

/** What `npm run deploy` prints but does not refuse: deprecated setting names (they still work). */
export function configWarnings(target: DeployTarget): string[] {
  return settingsProblems(target.vars).warnings;
}
