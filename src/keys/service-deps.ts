import type { Redis } from "@upstash/redis/cloudflare";
import type { Actor } from "../audit/audit";
import type { Database } from "../db/client";
import type { KeyEnvironment } from "./key-format";

/** What account and key operations need: Postgres (truth), Redis (what the edge reads), who acts. */
export interface KeyServiceDeps {
  db: Database;
  redis: Redis;
  keyEnvironment: KeyEnvironment;
  actor: Actor;
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
