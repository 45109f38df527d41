// `npm run dev`: the whole gateway on this machine with no account and no hand-made config.
// Starts the local stack (Redis + Upstash bridge, Postgres + Neon proxy, demo origin), then `wrangler dev`,
// prints one ready line, and on Ctrl-C / SIGTERM stops every child it started.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseToml } from "smol-toml";
import { settingsProblems } from "../src/config/parse-settings.ts";
import { ensureDevVars, readDevVars } from "./stack/dev-vars.ts";
import { envFileText } from "./stack/gateway-process.ts";
import { type LocalStack, StackError, startLocalStack } from "./stack/local-stack.ts";
import { isListening } from "./stack/net.ts";

const root = join(import.meta.dirname, "..");
const host = "127.0.0.1";
const port = Number(process.env.PORT ?? 8787);
const log = (line: string) => console.log(`[dev] ${line}`);
// Harmless offline noise: workerd cannot fetch Cloudflare's request.cf data, nor wrangler its telemetry.
const NOISE = /Request\.cf|cf\.json|workers\.cloudflare\.com|GetAddrInfoReqWrap|telemetry/;

if (ensureDevVars(join(root, ".dev.vars.example"), join(root, ".dev.vars"))) {
  log("created .dev.vars with fresh random secrets (git-ignored)");
}
const devVars = { ...readDevVars(join(root, ".dev.vars")), ...definedOnly(process.env) };
checkSettings();
const origin = resolveOriginUrl();
const originPort = process.env.ORIGIN_PORT ? Number(process.env.ORIGIN_PORT) : 8788;

// Busy ports: one clear line, before anything is started (so nothing is left running).
if (await isListening(host, port)) {
  console.error(`[dev] port ${port} is already in use; stop what runs there or set PORT=another`);
  process.exit(1);
}
if (!origin.url && (await isListening(host, originPort))) {
  console.error(
    `[dev] port ${originPort} for the demo origin is already in use; stop what runs there, set ` +
      "ORIGIN_PORT=another, or set ORIGIN_URL to your own API",
  );
  process.exit(1);
}
if (origin.url && !/^https?:\/\/[^/]/.test(origin.url)) {
  console.error(`[dev] ORIGIN_URL from ${origin.source} is not an http(s) URL: ${origin.url}`);
  process.exit(1);
}

let stack: LocalStack | undefined;
let wrangler: ChildProcess | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (wrangler?.pid && wrangler.exitCode === null) {
      await stopProcessGroup(wrangler);
    }
    await stack?.close();
  }
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  stack = await startLocalStack({
    stateDir: join(root, ".local"),
    persist: true,
    redisUrl: devVars.REDIS_URL,
    upstash:
      devVars.UPSTASH_REDIS_REST_URL && devVars.UPSTASH_REDIS_REST_TOKEN
        ? { url: devVars.UPSTASH_REDIS_REST_URL, token: devVars.UPSTASH_REDIS_REST_TOKEN }
        : undefined,
    databaseUrl: devVars.DATABASE_URL,
    originPort,
    originUrl: origin.url,
    stripeApiBase: devVars.STRIPE_API_BASE,
    // Like `stripe listen --forward-to`: the stand-in's Checkout and billing-portal pages send signed events here.
    stripeStandin: {
      port: devVars.STRIPE_STANDIN_PORT ? Number(devVars.STRIPE_STANDIN_PORT) : undefined,
      webhook: devVars.STRIPE_WEBHOOK_SECRET
        ? { url: `http://${host}:${port}/webhooks/stripe`, secret: devVars.STRIPE_WEBHOOK_SECRET }
        : undefined,
    },
    log,
  });
} catch (error) {
  console.error(`[dev] ${error instanceof StackError ? error.message : (error as Error).stack}`);
  await shutdown(1);
}
if (!stack) throw new Error("unreachable: the stack started or shutdown exited");

// The stack's vars (the local Upstash token, DATABASE_URL...) over .dev.vars go in an owner-only env file, as the
// reliability gateways' do (scripts/stack/gateway-process.ts): `--var` arguments are readable by any local
// user in the process list. An explicit --env-file replaces wrangler's own reading of .dev.vars, hence the merge.
const envFile = join(root, ".local", "dev-worker.env");
mkdirSync(dirname(envFile), { recursive: true });
// Mail: a .dev.vars made before mail existed has no RESEND_API_KEY; the local stand-in takes any re_ key.
const mailKey: Record<string, string> = devVars.RESEND_API_KEY ? {} : { RESEND_API_KEY: "re_local_standin" };
writeFileSync(
  envFile,
  envFileText({ ...readDevVars(join(root, ".dev.vars")), ...mailKey, ...stack.workerVars }),
  {
    mode: 0o600,
  },
);
chmodSync(envFile, 0o600);
const vars = ["--env-file", envFile];
wrangler = spawn(
  "wrangler",
  [
    "dev",
    "--ip",
    host,
    "--port",
    String(port),
    "--show-interactive-dev-session=false",
    "--test-scheduled",
    ...vars,
  ],
  {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  },
);
for (const stream of [wrangler.stdout, wrangler.stderr]) {
  if (!stream) continue;
  createInterface({ input: stream }).on("line", (line) => {
    if (!NOISE.test(line)) console.log(`[worker] ${line}`);
  });
}
wrangler.on("exit", (code) => {
  if (!stopping) {
    console.error(`[dev] wrangler exited with code ${code}`);
    void shutdown(code ?? 1);
  }
});

await waitForHealth(`http://${host}:${port}/health`);
console.log(
  `[dev] ready: gateway http://${host}:${port} (docs /docs, portal /portal, health /health) | ` +
    `${stack.origin.demo ? "demo origin" : `origin (ORIGIN_URL from ${origin.source})`} ${stack.origin.url} | ` +
    `mail outbox ${stack.mail.outboxUrl} | redis ${stack.bridge ? `bridge ${stack.bridge.url}` : "Upstash"} | postgres ${stack.postgres.embedded ? "embedded" : "DATABASE_URL"} | ` +
    `stripe ${stack.stripe ? `stand-in ${stack.stripe.url}` : stack.workerVars.STRIPE_API_BASE} | Ctrl-C stops all`,
);

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.error(`[dev] the gateway did not answer ${url} within 120 s`);
  await shutdown(1);
}

/** wrangler runs workerd as its own child: signalling the whole group leaves no process behind. */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid as number;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  signal("SIGKILL");
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => !!entry[1]));
}

/**
 * The owner's API, if one is set: ORIGIN_URL from the environment, else `.dev.vars`, else wrangler.toml's
 * [vars] (wrangler's own precedence for the last two). None set (empty): the demo origin is started.
 */
function resolveOriginUrl(): { url?: string; source: string } {
  if (process.env.ORIGIN_URL) return { url: process.env.ORIGIN_URL, source: "the environment" };
  const fromDevVars = readDevVars(join(root, ".dev.vars")).ORIGIN_URL;
  if (fromDevVars) return { url: fromDevVars, source: ".dev.vars" };
  const toml = parseToml(readFileSync(join(root, "wrangler.toml"), "utf8")) as {
    vars?: Record<string, unknown>;
  };
  const fromToml = toml.vars?.ORIGIN_URL;
  if (typeof fromToml === "string" && fromToml) return { url: fromToml, source: "wrangler.toml" };
  return { source: "the demo origin" };
}

/**
 * The worker's own settings check (src/config) over what wrangler will hand it, wrangler.toml's [vars] under
 * .dev.vars, before anything starts: a misspelt name or a bad value is one clear line here rather than a 500
 * on the first request. Deprecated names are a warning.
 */
function checkSettings(): void {
  const toml = parseToml(readFileSync(join(root, "wrangler.toml"), "utf8")) as {
    vars?: Record<string, unknown>;
  };
  const { problems, warnings } = settingsProblems({ ...toml.vars, ...readDevVars(join(root, ".dev.vars")) });
  for (const warning of warnings) log(`warning: ${warning}`);
  if (problems.length === 0) return;
  console.error(`[dev] the gateway's settings (wrangler.toml [vars], .dev.vars) are invalid:`);
  for (const problem of problems) console.error(`[dev]   - ${problem}`);
  process.exit(1);
}
