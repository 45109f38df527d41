import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../../scripts/stack/net.ts";

export interface DevServer {
  /** The gateway, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Every line it printed, for failure messages. */
  output: string[];
  stop(): Promise<void>;
}

const root = join(import.meta.dirname, "..", "..");
const READY_TIMEOUT_MS = 150_000;

/**
 * `npm run dev` as a developer runs it (scripts/dev.ts: the local stack and `wrangler dev`), on free ports;
 * `env` adds to its environment (e.g. ORIGIN_URL for an origin of the test's own).
 * Resolves on its "[dev] ready" line; stop() sends SIGTERM, on which dev.ts stops every child it started,
 * and waits for it to exit.
 */
export async function startDevServer(env: Record<string, string> = {}): Promise<DevServer> {
  const port = await freePort();
  const originPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(root, "scripts", "dev.ts")], {
    cwd: root,
    env: { ...process.env, PORT: String(port), ORIGIN_PORT: String(originPort), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`npm run dev was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${output.join("\n")}`),
        ),
      READY_TIMEOUT_MS,
    );
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        output.push(line);
        if (line.startsWith("[dev] ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm run dev exited with code ${code} before it was ready:\n${output.join("\n")}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, output, stop };
}

/** A value from .dev.vars, which `npm run dev` creates on its first run. */
export function devVar(name: string): string | undefined {
  const line = readFileSync(join(root, ".dev.vars"), "utf8")
    .split("\n")
    .find((candidate) => candidate.startsWith(`${name}=`));
  return line?.slice(name.length + 1).trim();
}
