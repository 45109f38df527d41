// Starts what `npm run dev` runs, on private resources, for the reliability suite: a private redis-server on
// a fixed port (so it can be stopped, killed and restarted under the bridge), the local stack on a throwaway
// database of the PostgreSQL at TEST_POSTGRES_URL, a recording origin, a decoy, and six gateways as real
// `wrangler dev` processes (one of them to be SIGKILLed and restarted). Everything started is stopped at the end, whatever the tests did.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import {
  buildWorkerBundle,
  type GatewayProcess,
  startGatewayProcess,
} from "../../scripts/stack/gateway-process.ts";
import { type LocalStack, startLocalStack } from "../../scripts/stack/local-stack.ts";
import { type NeonWsProxy, startNeonWsProxy } from "../../scripts/stack/neon-ws-proxy.ts";
import { freePort, isListening } from "../../scripts/stack/net.ts";
import { hasRedisServer, type RunningRedis, startRedisServer } from "../../scripts/stack/redis.ts";
import { startControlServer, switchable } from "./harness/control-server.ts";
import { startDecoy } from "./harness/decoy.ts";
import type { ReliabilityEnvironment } from "./harness/environment.ts";
import { remoteUrlVarsRedirected } from "./harness/loopback-vars.ts";
import { startRecordingOrigin } from "./harness/recording-origin.ts";
import { createRunDatabase } from "./harness/run-database.ts";
import { removeOlderRuns } from "./harness/run-folder.ts";

const settings = { originTimeoutMs: 1500, maxBodyBytes: 65_536, rateLimitTimeoutMs: 300 };
const log = (line: string) => console.log(`[reliability] ${line}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = process.env.RELIABILITY_RUN_DIR;
  if (!runDir) throw new Error("RELIABILITY_RUN_DIR is set by test/reliability/vitest.config.ts");
  removeOlderRuns(runDir);
  mkdirSync(runDir, { recursive: true });

  const stops: Array<() => Promise<void>> = [];
  // Once only, whether vitest or a signal asks first.
  let tornDown: Promise<void> | undefined;
  const teardown = () => {
    tornDown ??= (async () => {
      for (const stop of stops.reverse()) await stop().catch((error) => log(`teardown: ${error}`));
    })();
    return tornDown;
  };
  // Interrupted (Ctrl-C, CI cancelling): stop what runs. Should vitest exit first, the gateways' and Redis's
  // exit hooks still end those processes, and the next run drops the database left behind.
  const onSignal = () => void teardown().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  stops.unshift(async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  });
  try {
    const environment = await startEverything(runDir, stops);
    project.provide("reliability", environment);
    log(`ready: gateways ${Object.values(environment.gateways).join(" ")}; logs in ${runDir}`);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

async function startEverything(
  runDir: string,
  stops: Array<() => Promise<void>>,
): Promise<ReliabilityEnvironment> {
  if (!hasRedisServer()) throw new Error("the reliability suite needs redis-server on PATH");
  const serverUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const server = new URL(serverUrl);
  if (!(await isListening(server.hostname, Number(server.port || 5432)))) {
    throw new Error(`the reliability suite needs PostgreSQL at ${server.host} (bash scripts/ci-services.sh)`);
  }
  const database = await createRunDatabase(serverUrl);
  stops.push(() => database.drop());
  const databaseUrl = database.url;

  // Redis on a port fixed for the run: restarted after a fault, it is where the bridge reconnects to. With
  // its append-only file (fsync every second), as Upstash persists: a redis-server killed mid-run comes back
  // with what it acknowledged, so a count lost after a crash is the gateway's, not the test rig's.
  const redisPort = await freePort();
  const startRedis = () =>
    startRedisServer({ dataDir: join(runDir, "redis"), persist: true, port: redisPort });
  let redis: RunningRedis = await startRedis();
  const killRedisOnExit = () => redis.process?.kill("SIGKILL");
  process.on("exit", killRedisOnExit);
  stops.push(async () => {
    await redis.stop();
    process.off("exit", killRedisOnExit);
  });

  const stack: LocalStack = await startLocalStack({
    stateDir: join(runDir, "stack"),
    persist: false,
    redisUrl: redis.url,
    databaseUrl,
    log,
    // Mail: the stand-in's lines go to a .log file of the run, which 12-secrets scans with the gateways'.
    mailLog: (line) => appendFileSync(join(runDir, "mail-standin.log"), `${line}\n`),
  });
  stops.push(() => stack.close());
  // The Neon proxy is the worker's only way to Postgres: closing it is "Postgres down" for the worker,
  // without touching the machine's PostgreSQL server.
  let proxy: NeonWsProxy = stack.proxy;
  stops.push(() => proxy.close());
  const proxyTarget = `${server.hostname}:${server.port || "5432"}`;

  const secrets = {
    ADMIN_TOKEN: `adm_${randomBytes(24).toString("base64url")}`,
    ORIGIN_SHARED_SECRET: `oss_${randomBytes(24).toString("base64url")}`,
    STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("hex")}`,
    STRIPE_SECRET_KEY: `sk_test_${randomBytes(24).toString("hex")}`,
    UPSTASH_REDIS_REST_TOKEN: stack.workerVars.UPSTASH_REDIS_REST_TOKEN ?? "",
    RESEND_API_KEY: `re_${randomBytes(24).toString("hex")}`,
  };
  const origin = await startRecordingOrigin({ sharedSecret: secrets.ORIGIN_SHARED_SECRET });
  stops.push(() => origin.stop());
  const decoy = await startDecoy();
  stops.push(() => decoy.close());

  const vars = {
    // Loopback only: any URL wrangler.toml points elsewhere (Stripe's API...) goes to a closed local port.
    ...(await remoteUrlVarsRedirected()),
    ...stack.workerVars,
    ...secrets,
    ORIGIN_URL: origin.url,
    ORIGIN_TIMEOUT_MS: String(settings.originTimeoutMs),
    MAX_BODY_BYTES: String(settings.maxBodyBytes),
    RATE_LIMIT_TIMEOUT_MS: String(settings.rateLimitTimeoutMs),
    RATE_LIMIT_FAIL_MODE: "open",
    API_PREFIXES: "/v1",
    KEY_ENVIRONMENT: "test",
    // Every line the worker can write is scanned for secrets at the end.
    LOG_LEVEL: "debug",
  };
  // One build for all the processes, taken now: edits under src/ during the run change nothing.
  const bundle = await buildWorkerBundle(join(runDir, "bundle"));
  const gateway = async (name: string, extra: Record<string, string> = {}): Promise<GatewayProcess> => {
    const started = await startGatewayProcess({
      name,
      bundle,
      vars: { ...vars, ...extra },
      stateDir: join(runDir, name),
      logFile: join(runDir, `${name}.log`),
    });
    stops.push(() => started.stop());
    return started;
  };
  // The "patient" pair waits for Redis as long as a burst on this 2-core rig needs (seconds, where Upstash
  // answers in milliseconds): with them the concurrency tests measure the limiter's exactness, not whether
  // fail-open kicked in because the machine was saturated (which a and b report as a figure).
  const patient = { RATE_LIMIT_TIMEOUT_MS: "5000" };
  // a's settings in a process the suite SIGKILLs and starts again on the same port and state folder: an
  // isolate lost mid-work (a deploy, an eviction) with whatever it held in memory.
  const killableName = "gateway-killable";
  const killablePort = await freePort();
  const startKillable = () =>
    startGatewayProcess({
      name: killableName,
      bundle,
      vars,
      stateDir: join(runDir, killableName),
      logFile: join(runDir, `${killableName}.log`),
      port: killablePort,
    });
  const [a, b, closed, patientA, patientB, firstKillable] = await Promise.all([
    gateway("gateway-a"),
    gateway("gateway-b"),
    gateway("gateway-closed", { RATE_LIMIT_FAIL_MODE: "closed" }),
    gateway("gateway-patient-a", patient),
    gateway("gateway-patient-b", patient),
    startKillable(),
  ]);
  let killable = firstKillable;
  stops.push(() => killable.stop());

  const control = await startControlServer({
    switches: {
      redis: switchable(
        () => redis.stop(),
        async () => {
          redis = await startRedis();
        },
        () => killChild(redis.process),
      ),
      killable: switchable(
        () => killable.stop(),
        async () => {
          await portReleased(killablePort);
          killable = await startKillable();
        },
        () => killable.kill(),
      ),
      postgres: switchable(
        () => proxy.close(),
        async () => {
          proxy = await startNeonWsProxy({ port: stack.proxy.port, allowedTargets: [proxyTarget] });
        },
      ),
      origin: switchable(
        () => origin.stop(),
        () => origin.start(),
      ),
    },
    readers: {
      origin: (query) => origin.records(Number(query.get("from") ?? 0)),
      decoy: () => ({ hits: decoy.hits() }),
    },
  });
  stops.push(() => control.close());

  return {
    runDir,
    gateways: {
      a: a.url,
      b: b.url,
      closed: closed.url,
      patient: [patientA.url, patientB.url],
      killable: firstKillable.url,
    },
    adminToken: secrets.ADMIN_TOKEN,
    secrets,
    bridge: { url: stack.bridge?.url ?? "", token: secrets.UPSTASH_REDIS_REST_TOKEN },
    redisUrl: redis.url,
    databaseUrl,
    control: { url: control.url, token: control.token },
    origin: { url: origin.url, host: origin.host },
    decoyPort: decoy.port,
    settings,
    mail: { url: stack.mail.url },
    stripe: { url: stack.stripe?.url ?? "" },
  };
}

/** SIGKILL, as a crash: no shutdown, no last fsync of its own. */
async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
}

/** Waits (at most 10 s) until nothing listens on `port` any more: a killed workerd lets go of it soon after. */
async function portReleased(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await isListening("127.0.0.1", port)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
