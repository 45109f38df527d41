import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Fresh secrets shaped like the real ones, so format checks in the worker accept them. */
const generators: Record<string, () => string> = {
  STRIPE_WEBHOOK_SECRET: () => `whsec_${randomBytes(24).toString("hex")}`,
};
const generateSecret = (name: string) => generators[name]?.() ?? randomBytes(32).toString("base64url");

/**
 * Creates `.dev.vars` from `.dev.vars.example` when it does not exist, replacing each value `generate` with
 * a random secret. Returns true when it wrote the file.
 */
export function ensureDevVars(examplePath: string, devVarsPath: string): boolean {
  if (existsSync(devVarsPath)) return false;
  const lines = readFileSync(examplePath, "utf8")
    .split("\n")
    .map((line) => {
      const match = /^([A-Z0-9_]+)=generate$/.exec(line.trim());
      return match?.[1] ? `${match[1]}=${generateSecret(match[1])}` : line;
    });
  writeFileSync(devVarsPath, lines.join("\n"), { mode: 0o600 });
  return true;
}

/** Reads KEY=VALUE lines (dotenv subset: comments, blank lines, optional quotes). */
export function readDevVars(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const vars: Record<string, string> = {};
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const value = line.slice(eq + 1).trim();
    vars[line.slice(0, eq).trim()] = value.replace(/^(['"])(.*)\1$/, "$2");
  }
  return vars;
}
