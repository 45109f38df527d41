import { z } from "zod";

/**
 * Every setting of the worker, keyed by its binding name (wrangler.toml [vars], `wrangler secret put`,
 * .dev.vars): its type, default and meaning, written once. The `Bindings` and `Config` types, the startup
 * check (parse-settings.ts), `npm run deploy -- --check` and `npm run dev` all read this one object; a unit
 * test holds README's settings table to it.
 *
 * Values arrive as strings; a blank one counts as unset. Messages name the rule, never the value (secrets).
 */

/** How README's table and the deploy check treat a setting: in wrangler.toml, or set with `wrangler secret put`. */
type SettingKind = "var" | "secret" | "local";

interface SettingMeta {
  kind: SettingKind;
  /** What it does, as README's settings table says it. */
  description: string;
}

/** An http(s) URL; `required` names what is missing when it is unset. */
const httpUrl = (required?: string) =>
  z.url({
    protocol: /^https?$/,
    error: (issue) =>
      issue.input === undefined && required ? `is required: ${required}` : "must be an http(s) URL",
  });

/** A whole number in [min, max], with `fallback` when unset. */
const wholeNumber = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` })
    .default(fallback);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` }).default(fallback as never);

const secret = (minLength: number) =>
  z
    .string()
    .min(minLength, { error: `must be at least ${minLength} characters` })
    .optional();

/** The first path segments the gateway serves itself (app.ts): no API prefix may be under them. */
const GATEWAY_PATHS = ["admin", "docs", "health", "openapi.json", "portal", "webhooks"];

const commaList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean),
    );

const email = () => z.email({ error: "must be an email address" });

const setting = <T extends z.ZodType>(schema: T, kind: SettingKind, description: string): T =>
  schema.meta({ kind, description } satisfies SettingMeta);

export const settingsSchema = z.object({
  // --- The proxy ---
  ORIGIN_URL: setting(
    httpUrl("your API's base URL"),
    "var",
    "your API's base URL; requests under API_PREFIXES are forwarded to it",
  ),
  ORIGIN_OPENAPI_URL: setting(
    httpUrl().optional(),
    "var",
    "your API's OpenAPI document (default: ORIGIN_URL/openapi.json), merged into /openapi.json",
  ),
  ORIGIN_TIMEOUT_MS: setting(
    wholeNumber(100, 300_000, 10_000),
    "var",
    "milliseconds the origin has to answer before a 504",
  ),
  ORIGIN_SHARED_SECRET: setting(secret(16), "secret", "HMAC key for the signature the origin verifies"),
  MAX_BODY_BYTES: setting(
    wholeNumber(1024, 100 * 1024 * 1024, 10 * 1024 * 1024),
    "var",
    "request bodies above this many bytes are refused with 413 before they reach the origin",
  ),
  API_PREFIXES: setting(
    commaList("/v1").pipe(
      z
        .array(
          z
            .string()
            .regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, {
              error: "must be comma-separated path prefixes like /v1",
            })
            // The data plane answers everything under its prefixes before the gateway's own routes are seen.
            .refine((prefix) => !GATEWAY_PATHS.includes(prefix.split("/")[1] ?? ""), {
              error: `must not be under the gateway's own paths (${GATEWAY_PATHS.map((p) => `/${p}`).join(", ")})`,
            }),
          {
            error: "must be comma-separated path prefixes like /v1",
          },
        )
        .min(1, { error: "must name at least one prefix like /v1" }),
    ),
    "var",
    "comma-separated path prefixes that are proxied (with a key); everything else is the gateway's own",
  ),
  ADMIN_TOKEN: setting(secret(16), "secret", "bearer token of the admin API"),
  UPSTASH_REDIS_REST_URL: setting(httpUrl("the Upstash Redis REST URL"), "secret", "Upstash Redis REST URL"),
  UPSTASH_REDIS_REST_TOKEN: setting(
    z.string({ error: "is required: the Upstash Redis REST token" }),
    "secret",
    "Upstash Redis REST token",
  ),
  DATABASE_URL: setting(
    z.string({ error: "is required: a postgres:// URL" }).regex(/^postgres(ql)?:\/\//, {
      error: "must be a postgres:// URL",
    }),
    "secret",
    "Neon (or any Postgres) connection string",
  ),
  NEON_WS_PROXY: setting(
    z.string().min(1).optional(),
    "local",
    "host:port/path of the local Neon-compatible WebSocket proxy; set by `npm run dev`, unset in production",
  ),
  RATE_LIMIT_FAIL_MODE: setting(
    oneOf(["open", "closed"], "open"),
    "var",
    "when Redis fails or misses the deadline on the limit path: `open` applies the key's rate limit counted in the isolate alone, `closed` refuses with 503",
  ),
  RATE_LIMIT_TIMEOUT_MS: setting(
    wholeNumber(10, 5000, 300),
    "var",
    "deadline in milliseconds for the rate-limit round trip, counted in time the isolate was free to read the reply (at most 3 times as long when it is busy)",
  ),
  CORS_ORIGINS: setting(
    commaList(""),
    "var",
    "comma-separated origins allowed to call the proxied API from browsers",
  ),
  KEY_ENVIRONMENT: setting(
    oneOf(["live", "test"], "test"),
    "var",
    "`live` or `test`: the environment part of issued keys (`gw_live_...`); `live` requires PORTAL_URL",
  ),
  LOG_LEVEL: setting(
    oneOf(["debug", "info", "warn", "error"], "info"),
    "var",
    "the least severe log line kept",
  ),
  ACCESS_LOG_SAMPLE_RATE: setting(
    z.coerce
      .number({ error: "must be a fraction from 0 to 1" })
      .min(0, { error: "must be a fraction from 0 to 1" })
      .max(1, { error: "must be a fraction from 0 to 1" })
      .default(0.1),
    "var",
    "share of the API's answered requests (status below 400) beyond ACCESS_LOG_UNSAMPLED_PER_SECOND that get an access log line, which then carries `sampleRate`; refusals and errors are always logged. `1` logs every request; the default keeps the log's cost (the largest of the gateway's own per-request costs, docs/BENCHMARK.md) and Workers Logs' volume bounded on busy isolates",
  ),
  ACCESS_LOG_UNSAMPLED_PER_SECOND: setting(
    wholeNumber(0, 100_000, 100),
    "var",
    "answered requests per second per isolate that are all logged before ACCESS_LOG_SAMPLE_RATE applies: a quiet deployment (or `npm run dev`) logs every request; `0` samples from the first",
  ),

  // --- Billing (src/billing): a missing Stripe secret disables the billing routes with a 503, nothing else ---
  STRIPE_SECRET_KEY: setting(
    secret(1),
    "secret",
    "Stripe API key (`sk_...`, or a restricted `rk_...`); without it the billing routes answer 503",
  ),
  STRIPE_WEBHOOK_SECRET: setting(
    secret(1),
    "secret",
    "signing secret (`whsec_...`) of the Stripe webhook endpoint; without it `/webhooks/stripe` answers 503",
  ),
  STRIPE_API_BASE: setting(
    httpUrl().default("https://api.stripe.com"),
    "var",
    "Stripe's API; `npm run dev` and the tests point it at a local stand-in",
  ),
  STRIPE_METER_EVENT_NAME: setting(
    z.string().min(1).max(100, { error: "must be 1-100 characters" }).default("api_requests"),
    "var",
    "event name of the Stripe meter that bills metered tiers' usage",
  ),
  PAST_DUE_GRACE_DAYS: setting(
    z.coerce
      .number({ error: "must be a number of days from 0 to 90" })
      .min(0, { error: "must be a number of days from 0 to 90" })
      .max(90, { error: "must be a number of days from 0 to 90" })
      .default(7),
    "var",
    "days an account whose payment fails keeps its tier before it drops to free",
  ),
  PLAN_DOWNGRADE_TIMING: setting(
    oneOf(["period_end", "immediately"], "period_end"),
    "var",
    "when a downgrade or a cancel to free takes effect: `period_end` (Stripe subscription schedule / `cancel_at_period_end`: the customer keeps what they paid for until the period ends) or `immediately` (prorated credit on the next invoice); upgrades always apply at once",
  ),
  PORTAL_URL: setting(
    httpUrl().optional(),
    "var",
    "the gateway's public URL: Checkout and billing-portal returns, mail links and code samples are built on it. Required when KEY_ENVIRONMENT is `live` (and by `npm run deploy`); unset, a local run uses the request's own origin",
  ),

  // --- Developer portal (src/portal) ---
  PORTAL_SESSION_HOURS: setting(
    wholeNumber(1, 720, 168),
    "var",
    "how long a developer portal sign-in lasts, in hours",
  ),
  PORTAL_LOGIN_ATTEMPTS_PER_EMAIL: setting(
    wholeNumber(1, 1000, 10),
    "var",
    "portal login attempts allowed per email per 15 minutes, known email or not",
  ),
  PORTAL_LOGIN_ATTEMPTS_PER_IP: setting(
    wholeNumber(1, 10_000, 50),
    "var",
    "portal login and sign-up attempts allowed per client IP per 15 minutes",
  ),
  PORTAL_LOGIN_SLOWDOWN_MAX_MS: setting(
    wholeNumber(0, 10_000, 2000),
    "var",
    "the longest a portal login waits before its answer when its email is tried from many clients (0-10000; 0: no wait)",
  ),
  PORTAL_REQUIRE_VERIFIED_EMAIL: setting(
    oneOf(["true", "false"], "true").transform((value) => value === "true"),
    "var",
    "`false` lets developers create keys and buy plans before confirming their address",
  ),

  // --- Mail (src/mail): without RESEND_API_KEY the routes that send mail answer 503, nothing else ---
  RESEND_API_KEY: setting(
    secret(1),
    "secret",
    "Resend API key (`re_...`); without it sign-up, password reset, invitations and settings answer 503",
  ),
  RESEND_API_BASE: setting(
    httpUrl().default("https://api.resend.com"),
    "var",
    "Resend's API; `npm run dev` and the tests point it at the local stand-in",
  ),
  MAIL_FROM: setting(
    z
      .string()
      .regex(/^(?:[^<>\r\n]{1,100} <)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/, {
        error: "must be a mailbox like Name <no-reply@example.com>",
      })
      .default("API Portal <no-reply@example.com>"),
    "var",
    "sender of every mail: an RFC 5322 mailbox of a domain verified at Resend",
  ),

  // --- Branding: one name and one support address, for the portal's pages and the mails alike ---
  API_NAME: setting(
    z.string().trim().min(1).max(60, { error: "must be 1-60 characters" }).optional(),
    "var",
    "your API's name: every portal page's header and title (default `Developer portal`) and every mail (default `the API`). Was PORTAL_NAME",
  ),
  SUPPORT_EMAIL: setting(
    email().optional(),
    "var",
    "support address: every portal page's footer, and every mail's Reply-To and footer (default `support@example.com`). Was MAIL_SUPPORT_ADDRESS",
  ),
  PORTAL_LOGO_URL: setting(
    z
      .string()
      .regex(/^(https:\/\/[^\s"'<>]+|\/[^\s"'<>]*)$/, {
        error: "must be an https URL or a path such as /logo.svg",
      })
      .optional(),
    "var",
    "logo beside the name: an https URL (its origin is allowed for images only) or a path on the gateway",
  ),
  PORTAL_ACCENT_COLOR: setting(
    z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, { error: "must be a colour like #1d4ed8" })
      .optional(),
    "var",
    "links and buttons, `#rrggbb` with at least 4.5:1 contrast on white (default `#1d4ed8`)",
  ),
});

export type SettingName = keyof typeof settingsSchema.shape;

/** Every setting's name, in the schema's order (README's table follows it). */
export const settingNames = Object.keys(settingsSchema.shape) as SettingName[];

/** The kind and description of a setting, as written above. */
export function settingMeta(name: SettingName): SettingMeta {
  return settingsSchema.shape[name].meta() as unknown as SettingMeta;
}

/**
 * Old names that still work, mapped to the setting that replaced them; each logs one deprecation warning per
 * isolate. They said the same thing twice: the portal's branding and the mails each had a name and an address.
 */
export const deprecatedAliases = {
  PORTAL_NAME: "API_NAME",
  MAIL_SUPPORT_ADDRESS: "SUPPORT_EMAIL",
} as const satisfies Record<string, SettingName>;

/**
 * Names read by the local tooling (scripts/dev.ts), not by the worker; .dev.vars may hold them, and wrangler
 * hands them to the worker too. Known, so they are never mistaken for a misspelt setting.
 */
export const localToolNames = ["STRIPE_STANDIN_PORT", "REDIS_URL", "PORT", "ORIGIN_PORT"] as const;
