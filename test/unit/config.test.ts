import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, configFor, parseConfig } from "../../src/config";
import { editDistance } from "../../src/config/edit-distance";
import { misspeltSetting, settingsProblems } from "../../src/config/parse-settings";
import { deprecatedAliases, settingMeta, settingNames } from "../../src/config/settings";
import { publicBaseUrl } from "../../src/lib/public-origin";

const root = join(import.meta.dirname, "..", "..");
const minimal = {
  ORIGIN_URL: "https://origin.acme.dev",
  UPSTASH_REDIS_REST_URL: "https://redis.acme.dev",
  UPSTASH_REDIS_REST_TOKEN: "token",
  DATABASE_URL: "postgres://db.acme.dev/x",
};
const issuesOf = (env: Record<string, unknown>) => {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
};

describe("settings: one schema keyed by the binding names", () => {
  it("fill every default and name fields after their bindings (PORTAL_URL -> portalUrl)", () => {
    const config = parseConfig(minimal);
    expect(config).toMatchObject({
      originUrl: "https://origin.acme.dev",
      upstashRedisRestUrl: "https://redis.acme.dev",
      apiPrefixes: ["/v1"],
      originTimeoutMs: 10_000,
      rateLimitFailMode: "open",
      keyEnvironment: "test",
      portalRequireVerifiedEmail: true,
      apiName: "the API",
      portalName: "Developer portal",
      mailSupportAddress: "support@example.com",
      supportEmail: undefined,
    });
  });

  it("name a misspelt setting and the one it probably means, in any case", () => {
    expect(issuesOf({ ...minimal, PORTAL_ULR: "https://api.acme.dev" })).toEqual([
      "Unknown setting PORTAL_ULR; did you mean PORTAL_URL?",
    ]);
    expect(issuesOf({ ...minimal, log_level: "info" })).toEqual([
      "Unknown setting log_level; did you mean LOG_LEVEL?",
    ]);
    expect(misspeltSetting("RATE_LIMIT_FAIL_MOD")).toBe("RATE_LIMIT_FAIL_MODE");
    // Unrelated bindings, the local tooling's names and the non-string ASSETS binding are not ours to refuse.
    expect(issuesOf({ ...minimal, SENTRY_DSN: "x", STRIPE_STANDIN_PORT: "8790", ASSETS: {} })).toEqual([]);
  });

  it("name an invalid value by its rule, never echoing the value (it may be a secret)", () => {
    expect(issuesOf({ ...minimal, RATE_LIMIT_FAIL_MODE: "half" })).toEqual([
      "RATE_LIMIT_FAIL_MODE must be one of open, closed",
    ]);
    expect(issuesOf({ ...minimal, ORIGIN_TIMEOUT_MS: "1.5" })).toEqual([
      "ORIGIN_TIMEOUT_MS must be a whole number from 100 to 300000",
    ]);
    expect(issuesOf({ ...minimal, API_PREFIXES: "v1" })).toEqual([
      "API_PREFIXES must be comma-separated path prefixes like /v1",
    ]);
    expect(issuesOf({ ...minimal, API_PREFIXES: "/v1,/portal/api" })).toEqual([
      "API_PREFIXES must not be under the gateway's own paths (/admin, /docs, /health, /openapi.json, /portal, /webhooks)",
    ]);
    expect(issuesOf({ ...minimal, API_PREFIXES: "/v1,/portals,/docs2" })).toEqual([]);
    const secret = issuesOf({ ...minimal, ADMIN_TOKEN: "short-s3cret" });
    expect(secret).toEqual(["ADMIN_TOKEN must be at least 16 characters"]);
    expect(issuesOf({ ...minimal, DATABASE_URL: "mysql://u:pw@h/x" }).join()).not.toContain("pw");
    expect(issuesOf({ ...minimal, ORIGIN_URL: "" })).toEqual(["ORIGIN_URL is required: your API's base URL"]);
  });

  it("refuse a live gateway without PORTAL_URL: its links would follow the client's Host header", () => {
    expect(issuesOf({ ...minimal, KEY_ENVIRONMENT: "live" })).toEqual([
      "PORTAL_URL is required when KEY_ENVIRONMENT is live: the gateway's links must not be built from a request's Host header",
    ]);
    expect(issuesOf({ ...minimal, KEY_ENVIRONMENT: "live", PORTAL_URL: "https://api.acme.dev" })).toEqual([]);
  });

  it("build every link on PORTAL_URL when set, else (locally) on the request's origin", () => {
    expect(publicBaseUrl({ portalUrl: "https://api.acme.dev/" }, "http://evil.example/portal")).toBe(
      "https://api.acme.dev",
    );
    expect(publicBaseUrl({ portalUrl: undefined }, "http://127.0.0.1:8787/portal/x?y")).toBe(
      "http://127.0.0.1:8787",
    );
  });
});

describe("settings: the deprecated branding names", () => {
  afterEach(() => vi.restoreAllMocks());

  it("still work, as API_NAME and SUPPORT_EMAIL for pages and mails alike, with one warning per isolate", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const env = { ...minimal, PORTAL_NAME: "Acme developers", MAIL_SUPPORT_ADDRESS: "help@acme.dev" };
    const config = configFor(env);
    expect(config).toMatchObject({
      apiName: "Acme developers",
      portalName: "Acme developers",
      supportEmail: "help@acme.dev",
      mailSupportAddress: "help@acme.dev",
    });
    configFor({ ...env });
    const lines = warn.mock.calls.map((call) => JSON.parse(String(call[0])) as { detail: string });
    expect(lines.map((line) => line.detail)).toEqual([
      "PORTAL_NAME is deprecated: rename it API_NAME",
      "MAIL_SUPPORT_ADDRESS is deprecated: rename it SUPPORT_EMAIL",
    ]);
  });

  it("give way to the new name when both are set", () => {
    const config = parseConfig({ ...minimal, API_NAME: "Acme API", PORTAL_NAME: "Old name" });
    expect(config.portalName).toBe("Acme API");
    expect(settingsProblems({ API_NAME: "Acme API", PORTAL_NAME: "Old" }).warnings).toEqual([
      "PORTAL_NAME is deprecated and ignored: API_NAME is set",
    ]);
  });
});

describe("settings: the documents agree with the schema", () => {
  it("README's settings table lists exactly the schema's settings, each with its kind", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \| (var|secret|var \(local only\)) \|/gm)];
    const documented = rows.map((row) => row[1]);
    expect([...documented].sort()).toEqual([...settingNames].sort());
    for (const row of rows) {
      const kind = settingMeta(row[1] as (typeof settingNames)[number]).kind;
      expect(`${row[1]} ${row[2]}`).toBe(`${row[1]} ${kind === "local" ? "var (local only)" : kind}`);
    }
  });

  it("wrangler.toml's [vars] of every environment pass the schema, with no deprecated name", () => {
    const toml = parse(readFileSync(join(root, "wrangler.toml"), "utf8")) as {
      vars: Record<string, string>;
      env: Record<string, { vars: Record<string, string> }>;
    };
    for (const vars of [toml.vars, ...Object.values(toml.env).map((env) => env.vars)]) {
      expect(settingsProblems(vars)).toEqual({ problems: [], warnings: [] });
      for (const alias of Object.keys(deprecatedAliases)) expect(vars).not.toHaveProperty(alias);
    }
  });

  it("edit distance counts a swap of neighbours as one edit", () => {
    expect(editDistance("PORTAL_ULR", "PORTAL_URL")).toBe(1);
    expect(editDistance("ABC", "ABC")).toBe(0);
    expect(editDistance("", "ABC")).toBe(3);
    expect(editDistance("KITTEN", "SITTING")).toBe(3);
  });
});
