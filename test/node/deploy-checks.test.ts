import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  configProblems,
  configWarnings,
  type DeployTarget,
  readDeployTarget,
} from "../../scripts/deploy/config-checks.ts";

const ready: DeployTarget = {
  env: "production",
  vars: {
    ORIGIN_URL: "https://origin.acme.dev",
    KEY_ENVIRONMENT: "live",
    PORTAL_URL: "https://api.acme.dev",
  },
  routes: [{ pattern: "api.acme.dev" }],
  requiredSecrets: ["ADMIN_TOKEN", "DATABASE_URL"],
  crons: ["*/5 * * * *"],
};
const pricedPlans = {
  free: { name: "Free", stripePriceIds: { test: [], live: [] } },
  pro: { name: "Pro", stripePriceIds: { test: ["price_t"], live: ["price_l"] } },
};

describe("deploy configuration checks", () => {
  it("accept a complete production configuration", () => {
    expect(configProblems(ready, pricedPlans, ["ADMIN_TOKEN", "DATABASE_URL", "EXTRA"])).toEqual([]);
  });

  it("name every missing secret with the command that sets it", () => {
    const problems = configProblems(ready, pricedPlans, ["ADMIN_TOKEN"]);
    expect(problems).toEqual([
      "secret DATABASE_URL is not set: wrangler secret put DATABASE_URL --env production",
    ]);
  });

  it("refuse when the secrets cannot be listed (not logged in, offline)", () => {
    expect(configProblems(ready, pricedPlans, undefined).join()).toContain("wrangler login");
  });

  it("refuse example hostnames, plain-http origins, test keys and missing crons in production", () => {
    const problems = configProblems(
      {
        ...ready,
        vars: {
          ORIGIN_URL: "http://origin.example.com",
          KEY_ENVIRONMENT: "test",
          PORTAL_URL: "https://api.acme.dev",
        },
        routes: [{ pattern: "api.example.com" }],
        crons: [],
      },
      pricedPlans,
      ["ADMIN_TOKEN", "DATABASE_URL"],
    );
    expect(problems).toHaveLength(5);
    expect(problems.join("\n")).toMatch(/https.*\n.*example\.com.*\n.*example.*\n.*live.*\n.*Cron/s);
  });

  it("refuse an environment without PORTAL_URL: its links would follow the client's Host header", () => {
    for (const env of ["production", "staging"]) {
      const { PORTAL_URL: _, ...vars } = ready.vars;
      const problems = configProblems({ ...ready, env, vars }, pricedPlans, ["ADMIN_TOKEN", "DATABASE_URL"]);
      expect(problems.filter((problem) => problem.includes("PORTAL_URL"))).toEqual([
        `[env.${env}.vars] PORTAL_URL is missing: set the gateway's public URL (e.g. https://api.acme.dev); without it links would follow the request's Host header`,
      ]);
    }
    const plain = configProblems(
      { ...ready, vars: { ...ready.vars, PORTAL_URL: "http://api.acme.dev" } },
      pricedPlans,
      ["ADMIN_TOKEN", "DATABASE_URL"],
    );
    expect(plain).toEqual(["PORTAL_URL must use https in production (got http://api.acme.dev)"]);
  });

  it("refuse a misspelt or invalid setting with the worker's own message; warn on a deprecated name", () => {
    const target = {
      ...ready,
      vars: {
        ...ready.vars,
        PORTAL_ULR: "https://x.acme.dev",
        RATE_LIMIT_FAIL_MODE: "half",
        PORTAL_NAME: "Acme",
      },
    };
    expect(configProblems(target, pricedPlans, ["ADMIN_TOKEN", "DATABASE_URL"])).toEqual([
      "Unknown setting PORTAL_ULR; did you mean PORTAL_URL?",
      "RATE_LIMIT_FAIL_MODE must be one of open, closed",
    ]);
    expect(configWarnings(target)).toEqual(["PORTAL_NAME is deprecated: rename it API_NAME"]);
  });

  it("refuse a paid plan with no price id for the environment's keys", () => {
    const plans = {
      ...pricedPlans,
      basic: { name: "Basic", stripePriceIds: { test: ["price_b"], live: [] } },
    };
    expect(configProblems(ready, plans, ["ADMIN_TOKEN", "DATABASE_URL"])).toEqual([
      "plan basic has no live Stripe price id in src/plans/plans.ts",
    ]);
  });

  it("refuse a metered plan with no metered price for the environment (usage never billed)", () => {
    const plans = {
      ...pricedPlans,
      pro: {
        name: "Pro",
        stripePriceIds: { test: ["price_p"], live: ["price_p_live"] },
        metered: true,
        stripeMeteredPriceIds: { test: ["price_p_usage"], live: [] },
      },
    };
    expect(configProblems(ready, plans, ["ADMIN_TOKEN", "DATABASE_URL"])).toEqual([
      "plan pro is metered but has no live metered Stripe price (stripeMeteredPriceIds) in src/plans/plans.ts: its usage would never be billed",
    ]);
    const billed = {
      ...plans,
      pro: { ...plans.pro, stripeMeteredPriceIds: { test: [], live: ["price_u"] } },
    };
    expect(configProblems(ready, billed, ["ADMIN_TOKEN", "DATABASE_URL"])).toEqual([]);
  });

  it("read the environment's vars, routes and required secrets from wrangler.toml", () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-check-"));
    const path = join(dir, "wrangler.toml");
    writeFileSync(
      path,
      [
        'name = "x"',
        "[triggers]",
        'crons = ["0 * * * *"]',
        "[env.production]",
        'routes = [{ pattern = "api.acme.dev", custom_domain = true }]',
        "[env.production.vars]",
        'ORIGIN_URL = "https://o.acme.dev"',
        "[env.production.secrets]",
        'required = ["ADMIN_TOKEN"]',
      ].join("\n"),
    );
    expect(readDeployTarget(path, "production")).toEqual({
      env: "production",
      vars: { ORIGIN_URL: "https://o.acme.dev" },
      routes: [{ pattern: "api.acme.dev" }],
      requiredSecrets: ["ADMIN_TOKEN"],
      crons: ["0 * * * *"],
    });
    expect(() => readDeployTarget(path, "staging")).toThrow("[env.staging]");
  });

  it("pass on this repository's production section once its placeholders are replaced", () => {
    const target = readDeployTarget(join(import.meta.dirname, "..", "..", "wrangler.toml"), "production");
    expect(target.requiredSecrets).toEqual(
      expect.arrayContaining(["ADMIN_TOKEN", "DATABASE_URL", "STRIPE_WEBHOOK_SECRET"]),
    );
    expect(target.vars.KEY_ENVIRONMENT).toBe("live");
    const placeholders = configProblems(target, pricedPlans, target.requiredSecrets);
    expect(placeholders.every((problem) => problem.includes("example"))).toBe(true);
  });
});
