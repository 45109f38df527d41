import type { Redis } from "@upstash/redis/cloudflare";
import type { Actor } from "../audit/audit";
import type { Database } from "../db/client";
import type { Logger } from "../lib/log";
import type { Services } from "../services";
import type { KeyEnvironment } from "./key-format";

/** What account and key operations need: Postgres (truth), Redis (what the edge reads), who acts. */
export interface KeyServiceDeps {
  db: Database;
  redis: Redis;
  keyEnvironment: KeyEnvironment;
  actor: Actor;
  /** Where a publish that failed after the commit is reported (the outbox replays it later). */
  log?: Pick<Logger, "warn">;
}

/** The key services' dependencies from a request's services (src/services.ts), acting as `actor`. */
export function keyServiceDeps(services: Services, actor: Actor): KeyServiceDeps {
  return {
    db: services.db,
    redis: services.redis,
    keyEnvironment: services.config.keyEnvironment,
    actor,
    log: services.log,
  };
}

const UNIQUE_VIOLATION = "23505";

export function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  while (current && typeof current === "object") {
    if ((current as { code?: string }).code === UNIQUE_VIOLATION) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
