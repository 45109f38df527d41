import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../../scripts/stack/net.ts";

/**
 * wrangler.toml's [vars] that hold a URL off this machine (e.g. STRIPE_API_BASE = Stripe's API), pointed at
 * a free loopback port instead, where nothing listens: the suite never sends traffic anywhere else.
 */
export async function remoteUrlVarsRedirected(): Promise<Record<string, string>> {
  const toml = readFileSync(join(import.meta.dirname, "..", "..", "..", "wrangler.toml"), "utf8");
  const start = toml.search(/^\[vars\]$/m);
  const rest = start < 0 ? "" : toml.slice(start + "[vars]".length);
  const end = rest.search(/^\[/m);
  const topLevelVars = end < 0 ? rest : rest.slice(0, end);
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const redirected: Record<string, string> = {};
  for (const [, name, url] of topLevelVars.matchAll(/^([A-Z0-9_]+)\s*=\s*"(https?:\/\/[^"]*)"/gm)) {
    const host = new URL(url as string).hostname;
    if (name && host !== "127.0.0.1" && host !== "localhost") redirected[name] = nowhere;
  }
  return redirected;
}
