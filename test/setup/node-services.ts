import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { isListening } from "../../scripts/stack/net.ts";
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
  const postgresUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const postgres = new URL(postgresUrl);
  // The proxy tests check real server sessions (pg_stat_activity): an embedded Postgres cannot stand in.
  if (!(await isListening(postgres.hostname, Number(postgres.port || 5432)))) {
    throw new Error(
      `Tests need PostgreSQL at ${postgres.host}: run \`bash scripts/ci-services.sh\` (starts or installs it) or set TEST_POSTGRES_URL`,
    );
  }
  project.provide("postgresUrl", postgresUrl);
  return async () => {
    await redis?.stop();
  };
}
