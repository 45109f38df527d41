import { spawnSync } from "node:child_process";

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs wrangler (from node_modules/.bin via with-node.sh's PATH), echoing nothing it is not asked to. */
export function wrangler(args: string[], options: { inherit?: boolean } = {}): CommandResult {
  const result = spawnSync("wrangler", args, {
    encoding: "utf8",
    stdio: options.inherit ? "inherit" : "pipe",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  return { ok: result.status === 0, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Names of the secrets set on the deployed environment, or undefined when they cannot be read. */
export function secretNames(env: string): string[] | undefined {
  const result = wrangler(["secret", "list", "--env", env, "--format", "json"]);
  if (!result.ok) return undefined;
  try {
    return (JSON.parse(result.stdout) as Array<{ name: string }>).map((secret) => secret.name);
  } catch {
    return undefined;
  }
}

/** Uploads a new version without sending traffic to it; returns its id. */
export function uploadVersion(env: string): string {
  const result = wrangler(["versions", "upload", "--env", env]);
  process.stdout.write(result.stdout);
  const id = /Worker Version ID:\s*([0-9a-f-]{36})/i.exec(result.stdout)?.[1];
  if (!result.ok || !id) throw new Error(`wrangler versions upload failed:\n${result.stderr}`);
  return id;
}
