import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { env } from "./environment.ts";

/**
 * The secrets no log line and no response body may ever contain: every secret the gateways were given, and
 * every API key the admin API issued during the run (the one response that issued a key excepted).
 * Issued keys are kept in the run's ledger so later test files check against earlier files' keys too.
 */
const ISSUED_FILE = "issued-keys.jsonl";

/** A full API key: prefix, 32 random and 6 checksum characters (src/keys/key-format.ts). */
export const FULL_KEY_SHAPE = /gw_(?:live|test)_[0-9A-Za-z]{38}/g;

const issued = new Set<string>(readIssuedKeys(env.runDir));

export function readIssuedKeys(runDir: string): string[] {
  const path = join(runDir, ISSUED_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { key: string }).key);
}

export function rememberIssuedKey(key: string): void {
  if (issued.has(key)) return;
  issued.add(key);
  appendFileSync(join(env.runDir, ISSUED_FILE), `${JSON.stringify({ key })}\n`);
}

/** Names of the secrets `text` contains ("ADMIN_TOKEN", "issued key gw_test_abcd..."), if any. */
export function secretsIn(text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(env.secrets)) {
    if (text.includes(value)) found.push(name);
  }
  for (const match of text.matchAll(FULL_KEY_SHAPE)) {
    if (issued.has(match[0])) found.push(`issued key ${match[0].slice(0, 12)}...`);
  }
  return found;
}
