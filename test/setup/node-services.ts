import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import {
  hasRedisServer,
  type RunningRedis,
  redisAnswers,
  startRedisServer,
} from "../../scripts/stack/redis.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A Redis the Node-side tests may write to freely. */
    redisUrl: string;
    /** A Postgres server URL (database `postgres`); tests create their own databases on it. */
    postgresUrl: string;
  }
}

/**
 * Services for the Node-side tests (the local stack's own parts): a private redis-server when one is
 * installed (so tests may flush it), else TEST_REDIS_URL; Postgres from TEST_POSTGRES_URL or the local server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let redis: RunningRedis | undefined;
  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    if (!hasRedisServer()) {
      throw new Error(
        "Tests need Redis: install redis-server (apt-get install redis-server) or set TEST_REDIS_URL",
      );
    }
    const dataDir = join(process.cwd(), ".cache", "test-redis-node");
    rmSync(dataDir, { recursive: true, force: true });
    redis = await startRedisServer({ dataDir, persist: false });
    redisUrl = redis.url;
  } else if (!(await redisAnswers(redisUrl))) {
    throw new Error(`TEST_REDIS_URL=${redisUrl} does not answer PING`);
  }
  project.provide("redisUrl", redisUrl);
  project.provide(
    "postgresUrl",
    process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  );
  return async () => {
    await redis?.stop();
  };
}
