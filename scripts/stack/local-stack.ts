import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type DemoOrigin, startDemoOrigin } from "./demo-origin.ts";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.ts";
import { applyMigrations } from "./migrate.ts";
import { type NeonWsProxy, startNeonWsProxy } from "./neon-ws-proxy.ts";
import { hasRedisServer, type RunningRedis, redisAnswers, startRedisServer } from "./redis.ts";
import { type ResendStandin, startResendStandin } from "./resend-standin.ts";
import { type StripeStandin, startStripeStandin } from "./stripe-standin.ts";
import { startUpstashBridge, type UpstashBridge } from "./upstash-bridge.ts";

export interface LocalStackOptions {
  /** Folder (git-ignored) for the private redis-server's and the embedded Postgres's files. */
  stateDir: string;
  /** Keep Redis data across restarts (dev) or not (tests). */
  persist: boolean;
  /** An existing Redis to use when it answers (REDIS_URL). */
  redisUrl?: string;
  /** A real Upstash database: no Redis, no bridge. */
  upstash?: { url: string; token: string };
  /** An existing Postgres (DATABASE_URL); without it an embedded one is started. */
  databaseUrl?: string;
  originPort?: number;
  /** The owner's own API (ORIGIN_URL): proxied to as it is, and no demo origin is started. */
  originUrl?: string;
  /** Billing: a real Stripe API base (https://api.stripe.com) instead of the local stand-in. */
  stripeApiBase?: string;
  /** Billing: the stand-in's port (default: a free one) and where it sends signed webhook events (dev). */
  stripeStandin?: { port?: number; webhook?: { url: string; secret: string } };
  log: (line: string) => void;
  /** Mail: where the Resend stand-in's log lines go (default `log`); the reliability suite keeps them in a file. */
  mailLog?: (line: string) => void;
}

export interface LocalStack {
  /** Settings the worker needs to use this stack, as wrangler vars / miniflare bindings. */
  workerVars: Record<string, string>;
  redis?: RunningRedis;
  bridge?: UpstashBridge;
  proxy: NeonWsProxy;
  postgres: { url: string; embedded?: EmbeddedPostgres };
  /** The origin the worker proxies to: the demo origin, or the owner's API (`demo` false, nothing to close). */
  origin: DemoOrigin & { demo: boolean };
  /** Billing: the local Stripe API stand-in, unless `stripeApiBase` was given. */
  stripe?: StripeStandin;
  /** Mail: the local stand-in of Resend's API, with its outbox page. */
  mail: ResendStandin;
  /** Stops everything this stack started, newest first. */
  close(): Promise<void>;
}

export class StackError extends Error {}

/**
 * Starts the local equivalents of the production services: Redis behind an Upstash-compatible REST bridge,
 * Postgres behind a Neon-compatible WebSocket proxy (migrated), and the demo origin API.
 */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const redisSide = await startRedisSide(opts, stops);
    const postgres = await startPostgres(opts, stops);
    const target = new URL(postgres.url);
    const proxy = await startNeonWsProxy({ allowedTargets: [`${target.hostname}:${target.port || "5432"}`] });
    stops.push(() => proxy.close());
    const origin = opts.originUrl ? ownOrigin(opts.originUrl) : await startDemo(opts.originPort ?? 0);
    stops.push(() => origin.close());
    // Billing: Stripe's API cannot be reached offline (or from the tests); the stand-in answers in its place.
    // Its state persists in the state folder (`.local/` for dev, a temporary one for tests).
    const stripe = opts.stripeApiBase
      ? undefined
      : await startStripeStandin({
          stateFile: join(opts.stateDir, "stripe-standin.json"),
          port: opts.stripeStandin?.port,
          webhook: opts.stripeStandin?.webhook,
          log: (line) => opts.log(`stripe stand-in: ${line}`),
        });
    if (stripe) stops.push(() => stripe.close());
    // Mail: no provider can be reached offline; the stand-in keeps every message and shows them at /outbox.
    const mail = await startResendStandin({ log: opts.mailLog ?? opts.log });
    stops.push(() => mail.close());
    return {
      ...redisSide,
      proxy,
      postgres,
      origin,
      stripe,
      mail,
      close,
      workerVars: {
        UPSTASH_REDIS_REST_URL: redisSide.restUrl,
        UPSTASH_REDIS_REST_TOKEN: redisSide.restToken,
        DATABASE_URL: postgres.url,
        NEON_WS_PROXY: proxy.wsProxyBase,
        ORIGIN_URL: origin.url,
        STRIPE_API_BASE: stripe?.url ?? opts.stripeApiBase ?? "https://api.stripe.com",
        RESEND_API_BASE: mail.url,
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The owner's API: nothing to start or stop. */
function ownOrigin(url: string): LocalStack["origin"] {
  const parsed = new URL(url);
  const port = Number(parsed.port) || (parsed.protocol === "https:" ? 443 : 80);
  return { url: url.replace(/\/$/, ""), port, demo: false, close: async () => {} };
}

async function startDemo(port: number): Promise<LocalStack["origin"]> {
  try {
    return { ...(await startDemoOrigin({ port })), demo: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new StackError(
        `port ${port} for the demo origin is already in use; stop what runs there, set ORIGIN_PORT=another, ` +
          "or set ORIGIN_URL to your own API",
      );
    }
    throw error;
  }
}

async function startRedisSide(opts: LocalStackOptions, stops: Array<() => Promise<void>>) {
  if (opts.upstash) {
    opts.log("redis: using the Upstash database from UPSTASH_REDIS_REST_URL (no local bridge)");
    return { restUrl: opts.upstash.url, restToken: opts.upstash.token };
  }
  let redis: RunningRedis | undefined;
  let redisUrl = opts.redisUrl;
  if (redisUrl && !(await redisAnswers(redisUrl))) {
    opts.log(`redis: REDIS_URL does not answer; falling back to a local redis-server`);
    redisUrl = undefined;
  }
  if (!redisUrl) {
    if (!hasRedisServer()) {
      throw new StackError(
        "No Redis available. Either install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)\n" +
          "or set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to a real Upstash database.",
      );
    }
    redis = await startRedisServer({ dataDir: join(opts.stateDir, "redis"), persist: opts.persist });
    stops.push(() => redis?.stop() ?? Promise.resolve());
    redisUrl = redis.url;
  }
  const token = randomBytes(24).toString("base64url");
  const bridge = await startUpstashBridge({ redisUrl, token });
  stops.push(() => bridge.close());
  return { redis, bridge, restUrl: bridge.url, restToken: token };
}

async function startPostgres(opts: LocalStackOptions, stops: Array<() => Promise<void>>) {
  if (opts.databaseUrl) {
    await applyMigrations(opts.databaseUrl);
    return { url: opts.databaseUrl };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: join(opts.stateDir, "pgdata") });
  stops.push(() => embedded.close());
  opts.log(`postgres: embedded (PGlite) with its data in ${join(opts.stateDir, "pgdata")}`);
  await applyMigrations(embedded.url);
  return { url: embedded.url, embedded };
}
