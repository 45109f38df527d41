import type { Redis } from "@upstash/redis/cloudflare";
import type Stripe from "stripe";
import { stripeClient } from "./billing/stripe/stripe-client";
import type { Config } from "./config";
import type { Database } from "./db/client";
import type { LazyDatabase } from "./db/lazy";
import type { Logger } from "./lib/log";
import { publicBaseUrl } from "./lib/public-origin";
import { type Mailer, mailerFor } from "./mail/mail-client";
import { redisFor } from "./store/redis";

/**
 * The one way code outside the hot path gets its dependencies: `c.get("services")` in a handler (set by the
 * requestServices() middleware), or createServices() in a scheduled job. Services below the handlers take
 * this object, or the few fields they use, never the Hono context.
 *
 * Lifetime: one object per request (or per cron run). Each field is made on its first read and kept for the
 * rest of the request, so a request pays only for what it touches (most data-plane requests touch nothing).
 * The Postgres pool is the request's own (Workers forbid sharing I/O across requests) and is ended after the
 * response only if it was opened. Redis, Stripe and the mailer are stateless HTTP clients shared per isolate.
 */
export interface Services {
  /** The validated settings of this deployment (config.ts). */
  readonly config: Config;
  /** This request's logger: JSON lines carrying the request id; redacts secrets. */
  readonly log: Logger;
  /** Upstash Redis with a 5 s deadline (store/redis.ts redisFor); the hot path keeps its own shorter one. */
  readonly redis: Redis;
  /** Postgres through drizzle; the first read opens this request's pool. */
  readonly db: Database;
  /**
   * Stripe's API client pointed at STRIPE_API_BASE.
   * @throws ApiError `billing_not_configured` (503) on read when STRIPE_SECRET_KEY is not set.
   */
  readonly stripe: Stripe;
  /**
   * Mail through Resend.
   * @throws ApiError `mail_not_configured` (503) on read when RESEND_API_KEY is not set (check
   *   mailConfigured(config) first where mail is optional).
   */
  readonly mailer: Mailer;
  /** Milliseconds since the Unix epoch: the time the request's services reason with. */
  readonly clock: { now(): number };
  /** What links in mails, Stripe's return URLs and code samples are built on (lib/public-origin.ts). */
  readonly portalBase: string;
  /** Runs `work` after the response is sent (ctx.waitUntil); it must open its own Postgres pool. */
  waitUntil(work: Promise<unknown>): void;
}

interface ServiceSources {
  config: Config;
  log: Logger;
  /** The request's lazily opened pool (db/lazy.ts); whoever made it closes it. */
  database: LazyDatabase;
  /** The URL the request came to: its origin is the portal's when PORTAL_URL is unset. */
  requestUrl?: string;
  waitUntil?: (work: Promise<unknown>) => void;
  now?: () => number;
}

/** Builds the services of one request or cron run; nothing is created until a field is read. */
export function createServices(from: ServiceSources): Services {
  return new RequestServices(from);
}

/** A class, not an object literal with getters: every request makes one, API calls included. */
class RequestServices implements Services {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: { now(): number };
  readonly waitUntil: (work: Promise<unknown>) => void;
  private cachedRedis: Redis | undefined;
  private cachedStripe: Stripe | undefined;
  private cachedMailer: Mailer | undefined;
  private cachedPortalBase: string | undefined;

  constructor(private readonly from: ServiceSources) {
    this.config = from.config;
    this.log = from.log;
    this.clock = { now: from.now ?? Date.now };
    this.waitUntil = from.waitUntil ?? ((work) => void work.catch(() => {}));
  }

  get redis(): Redis {
    this.cachedRedis ??= redisFor(this.config);
    return this.cachedRedis;
  }

  get db(): Database {
    return this.from.database.get();
  }

  get stripe(): Stripe {
    this.cachedStripe ??= stripeClient(this.config);
    return this.cachedStripe;
  }

  get mailer(): Mailer {
    this.cachedMailer ??= mailerFor(this.config, this.log);
    return this.cachedMailer;
  }

  get portalBase(): string {
    // Scheduled work has no request: without PORTAL_URL it has no base to link to. Made on first read (a
    // URL parse), since API requests never read it.
    const { config, requestUrl } = this.from;
    this.cachedPortalBase ??= config.portalUrl || requestUrl ? publicBaseUrl(config, requestUrl ?? "") : "";
    return this.cachedPortalBase;
  }
}
