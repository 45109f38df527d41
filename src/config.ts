import { z } from "zod";

/** What the worker is given: [vars] from wrangler.toml, secrets from `wrangler secret put` or .dev.vars. */
export interface Bindings {
  ORIGIN_URL?: string;
  ORIGIN_OPENAPI_URL?: string;
  ORIGIN_TIMEOUT_MS?: string;
  ORIGIN_SHARED_SECRET?: string;
  MAX_BODY_BYTES?: string;
  API_PREFIXES?: string;
  ADMIN_TOKEN?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  DATABASE_URL?: string;
  /** Local stack only: host:port/path of the Neon-compatible WebSocket proxy in front of a plain Postgres. */
  NEON_WS_PROXY?: string;
  RATE_LIMIT_FAIL_MODE?: string;
  RATE_LIMIT_TIMEOUT_MS?: string;
  CORS_ORIGINS?: string;
  KEY_ENVIRONMENT?: string;
  LOG_LEVEL?: string;
  // Billing (src/billing). Missing Stripe settings disable billing routes with a 503, not the whole gateway.
  STRIPE_SECRET_KEY?: string;
  STRIPE_WEBHOOK_SECRET?: string;
  STRIPE_API_BASE?: string;
  STRIPE_METER_EVENT_NAME?: string;
  PAST_DUE_GRACE_DAYS?: string;
  PLAN_DOWNGRADE_TIMING?: string;
  PORTAL_URL?: string;
  // Developer portal (src/portal).
  PORTAL_SESSION_HOURS?: string;
  PORTAL_LOGIN_ATTEMPTS_PER_EMAIL?: string;
  PORTAL_LOGIN_ATTEMPTS_PER_IP?: string;
  PORTAL_LOGIN_SLOWDOWN_MAX_MS?: string;
  // Mail (src/mail) and portal accounts. Without RESEND_API_KEY, routes that send mail answer 503.
  RESEND_API_KEY?: string;
  RESEND_API_BASE?: string;
  MAIL_FROM?: string;
  MAIL_SUPPORT_ADDRESS?: string;
  API_NAME?: string;
  PORTAL_REQUIRE_VERIFIED_EMAIL?: string;
  // Branding of the developer portal (src/portal/pages): its name, logo, accent colour and support address.
  PORTAL_NAME?: string;
  PORTAL_LOGO_URL?: string;
  PORTAL_ACCENT_COLOR?: string;
  SUPPORT_EMAIL?: string;
  // API reference (src/docs): the pinned @scalar/api-reference bundle, as Workers static assets ([assets]).
  ASSETS?: Fetcher;
}

const commaList = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );

const configSchema = z.object({
  originUrl: z.url({ protocol: /^https?$/ }),
  originOpenApiUrl: z.url({ protocol: /^https?$/ }).optional(),
  originTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(10_000),
  originSharedSecret: z.string().min(16).optional(),
  /** Request bodies above this are refused with 413 before they reach the origin. */
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(10 * 1024 * 1024),
  apiPrefixes: commaList.pipe(
    z
      .array(z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, "an API prefix looks like /v1"))
      .min(1),
  ),
  adminToken: z.string().min(16).optional(),
  redisRestUrl: z.url({ protocol: /^https?$/ }),
  redisRestToken: z.string().min(1),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL"),
  neonWsProxy: z.string().min(1).optional(),
  rateLimitFailMode: z.enum(["open", "closed"]).default("open"),
  rateLimitTimeoutMs: z.coerce.number().int().min(10).max(5000).default(300),
  corsOrigins: commaList,
  keyEnvironment: z.enum(["live", "test"]).default("test"),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  // Billing. The secrets stay optional (any shape) so a missing or odd Stripe key never takes the data plane
  // down: billing code checks them where they are used and answers a 503 naming the setting.
  stripeSecretKey: z.string().min(1).optional(),
  stripeWebhookSecret: z.string().min(1).optional(),
  stripeApiBase: z.url({ protocol: /^https?$/ }).default("https://api.stripe.com"),
  stripeMeterEventName: z.string().min(1).max(100).default("api_requests"),
  pastDueGraceDays: z.coerce.number().min(0).max(90).default(7),
  /**
   * When a downgrade (a lower paid plan, or cancelling to free) takes effect: `period_end` (the customer keeps
   * what they paid for until the period ends; Stripe's subscription schedule or cancel_at_period_end) or
   * `immediately` (prorated credit on the next invoice). Upgrades always apply at once.
   */
  planDowngradeTiming: z.enum(["period_end", "immediately"]).default("period_end"),
  portalUrl: z.url({ protocol: /^https?$/ }).optional(),
  // Developer portal: how long a sign-in lasts, and the brute-force limits on logins (per 15 minutes).
  portalSessionHours: z.coerce.number().int().min(1).max(720).default(168),
  portalLoginAttemptsPerEmail: z.coerce.number().int().min(1).max(1000).default(10),
  portalLoginAttemptsPerIp: z.coerce.number().int().min(1).max(10_000).default(50),
  // The longest a login waits before its answer once its email is tried from many addresses (ms; 0: never).
  portalLoginSlowdownMaxMs: z.coerce.number().int().min(0).max(10_000).default(2000),
  // Mail. The key stays optional (any shape): without it the routes that send mail answer 503, nothing else.
  resendApiKey: z.string().min(1).optional(),
  resendApiBase: z.url({ protocol: /^https?$/ }).default("https://api.resend.com"),
  /** RFC 5322 mailbox of a domain verified at Resend: `Name <address>` or a bare address. */
  mailFrom: z
    .string()
    .regex(
      /^(?:[^<>\r\n]{1,100} <)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/,
      "a mailbox like Name <no-reply@example.com>",
    )
    .default("API Portal <no-reply@example.com>"),
  mailSupportAddress: z.email().default("support@example.com"),
  /** The API's name as mails and pages call it. */
  apiName: z.string().min(1).max(100).default("the API"),
  /** Unverified developers may log in and read the docs, but not create keys or buy a plan. */
  portalRequireVerifiedEmail: z
    .enum(["true", "false"])
    .default("true")
    .transform((value) => value === "true"),
  // Portal branding: shown in every page's header, title and footer.
  portalName: z.string().trim().min(1).max(60).default("Developer portal"),
  /** An https URL or a path on this origin (the page's CSP admits the logo's origin for images only). */
  portalLogoUrl: z
    .string()
    .regex(
      /^(https:\/\/[^\s"'<>]+|\/[^\s"'<>]*)$/,
      "PORTAL_LOGO_URL is an https URL or a path such as /logo.svg",
    )
    .optional(),
  /** #rrggbb; links and buttons. Pick one with at least 4.5:1 contrast on white (WCAG AA). */
  portalAccentColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, "PORTAL_ACCENT_COLOR is a colour like #1d4ed8")
    .optional(),
  supportEmail: z.email().optional(),
});

export type Config = z.infer<typeof configSchema>;

/** Thrown when the worker's configuration is unusable; rendered as a 500 naming the settings, not their values. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration: ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

const blankToUndefined = (value: string | undefined) =>
  value === undefined || value === "" ? undefined : value;

/** Parses the bindings into a typed config, naming every setting that is missing or malformed. */
export function parseConfig(env: Bindings): Config {
  const result = configSchema.safeParse({
    originUrl: blankToUndefined(env.ORIGIN_URL),
    originOpenApiUrl: blankToUndefined(env.ORIGIN_OPENAPI_URL),
    originTimeoutMs: blankToUndefined(env.ORIGIN_TIMEOUT_MS),
    originSharedSecret: blankToUndefined(env.ORIGIN_SHARED_SECRET),
    maxBodyBytes: blankToUndefined(env.MAX_BODY_BYTES),
    apiPrefixes: blankToUndefined(env.API_PREFIXES) ?? "/v1",
    adminToken: blankToUndefined(env.ADMIN_TOKEN),
    redisRestUrl: blankToUndefined(env.UPSTASH_REDIS_REST_URL),
    redisRestToken: blankToUndefined(env.UPSTASH_REDIS_REST_TOKEN),
    databaseUrl: blankToUndefined(env.DATABASE_URL),
    neonWsProxy: blankToUndefined(env.NEON_WS_PROXY),
    rateLimitFailMode: blankToUndefined(env.RATE_LIMIT_FAIL_MODE),
    rateLimitTimeoutMs: blankToUndefined(env.RATE_LIMIT_TIMEOUT_MS),
    corsOrigins: blankToUndefined(env.CORS_ORIGINS),
    keyEnvironment: blankToUndefined(env.KEY_ENVIRONMENT),
    logLevel: blankToUndefined(env.LOG_LEVEL),
    stripeSecretKey: blankToUndefined(env.STRIPE_SECRET_KEY),
    stripeWebhookSecret: blankToUndefined(env.STRIPE_WEBHOOK_SECRET),
    stripeApiBase: blankToUndefined(env.STRIPE_API_BASE),
    stripeMeterEventName: blankToUndefined(env.STRIPE_METER_EVENT_NAME),
    pastDueGraceDays: blankToUndefined(env.PAST_DUE_GRACE_DAYS),
    planDowngradeTiming: blankToUndefined(env.PLAN_DOWNGRADE_TIMING),
    portalUrl: blankToUndefined(env.PORTAL_URL),
    portalSessionHours: blankToUndefined(env.PORTAL_SESSION_HOURS),
    portalLoginAttemptsPerEmail: blankToUndefined(env.PORTAL_LOGIN_ATTEMPTS_PER_EMAIL),
    portalLoginAttemptsPerIp: blankToUndefined(env.PORTAL_LOGIN_ATTEMPTS_PER_IP),
    portalLoginSlowdownMaxMs: blankToUndefined(env.PORTAL_LOGIN_SLOWDOWN_MAX_MS),
    resendApiKey: blankToUndefined(env.RESEND_API_KEY),
    resendApiBase: blankToUndefined(env.RESEND_API_BASE),
    mailFrom: blankToUndefined(env.MAIL_FROM),
    mailSupportAddress: blankToUndefined(env.MAIL_SUPPORT_ADDRESS),
    apiName: blankToUndefined(env.API_NAME),
    portalRequireVerifiedEmail: blankToUndefined(env.PORTAL_REQUIRE_VERIFIED_EMAIL),
    portalName: blankToUndefined(env.PORTAL_NAME),
    portalLogoUrl: blankToUndefined(env.PORTAL_LOGO_URL),
    portalAccentColor: blankToUndefined(env.PORTAL_ACCENT_COLOR),
    supportEmail: blankToUndefined(env.SUPPORT_EMAIL),
  });
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  return result.data;
}

const parsed = new WeakMap<Bindings, Config>();

/** Parses once per isolate and env object: the bindings do not change while an isolate lives. */
export function configFor(env: Bindings): Config {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env);
    parsed.set(env, config);
  }
  return config;
}
