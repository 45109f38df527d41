// Runs the local stack for the worker tests as a child process of vitest: native Node, outside vite's
// module graph (whose worker-oriented resolution breaks Node-only packages such as ioredis).
// Prints one line `READY <json of worker vars>` when up; SIGTERM stops everything and drops the test database.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "./stack/local-stack.ts";
import { createDatabase, dropDatabase } from "./stack/migrate.ts";
import { isListening } from "./stack/net.ts";
import { hasRedisServer } from "./stack/redis.ts";

const root = join(import.meta.dirname, "..");
const stateDir = join(root, ".cache", `test-stack-${process.pid}`);
rmSync(stateDir, { recursive: true, force: true });

const serverUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const server = new URL(serverUrl);
const useServer = await isListening(server.hostname, Number(server.port || 5432));
const databaseName = `gw_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
const databaseUrl = useServer ? await createDatabase(serverUrl, databaseName) : undefined;
if (!useServer) console.error(`[test-stack] no Postgres at ${server.host}; using the embedded one`);

let stack: LocalStack | undefined;
async function stop(code: number): Promise<never> {
  await stack?.close();
  if (databaseUrl) await dropDatabase(serverUrl, databaseName).catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
// vitest gone (crashed or killed): do not outlive it.
process.stdin.on("end", () => void stop(0));
process.stdin.resume();

try {
  stack = await startLocalStack({
    stateDir,
    persist: false,
    redisUrl: hasRedisServer() ? undefined : (process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"),
    databaseUrl,
    log: (line) => console.error(`[test-stack] ${line}`),
  });
} catch (error) {
  console.error(`[test-stack] ${(error as Error).stack}`);
  await stop(1);
}
console.log(`READY ${JSON.stringify(stack?.workerVars)}`);
