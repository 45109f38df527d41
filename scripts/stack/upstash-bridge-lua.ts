import { createHash } from "node:crypto";
import type { RedisCommand } from "./upstash-bridge-protocol.ts";

/**
 * The `#!lua flags=` values stock Redis 7 understands. Upstash accepts more (@upstash/ratelimit >= 2.2 marks
 * its scripts `allow-key-locking`) and Redis refuses a whole script over one flag it does not know.
 */
const REDIS_SCRIPT_FLAGS = new Set([
  "no-writes",
  "allow-oom",
  "allow-stale",
  "no-cluster",
  "allow-cross-slot-keys",
]);

/** Lower-case hex SHA1 of the UTF-8 text, as Redis and the SDKs compute script hashes. */
export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/**
 * Drops the shebang flags Redis would refuse and keeps the ones it knows (so `no-writes` still allows
 * EVAL_RO). Returns the very same string when nothing had to go, so unflagged scripts keep their hash.
 */
export function stripUnknownScriptFlags(script: string): string {
  if (!script.startsWith("#!")) return script;
  const end = script.indexOf("\n");
  const shebang = end === -1 ? script : script.slice(0, end);
  let changed = false;
  const tokens = shebang.split(" ").map((token) => {
    if (!token.startsWith("flags=")) return token;
    const flags = token.slice("flags=".length).split(",").filter(Boolean);
    const kept = flags.filter((flag) => REDIS_SCRIPT_FLAGS.has(flag));
    if (kept.length === flags.length) return token;
    changed = true;
    return `flags=${kept.join(",")}`;
  });
  if (!changed) return script;
  return tokens.join(" ") + (end === -1 ? "" : script.slice(end));
}

export interface TranslatedCommand {
  command: RedisCommand;
  /** Maps Redis's (successful) reply back to what the client expects, when the rewrite changed it. */
  mapReply?: (reply: unknown) => unknown;
}

export interface ScriptTranslator {
  translate(command: RedisCommand): TranslatedCommand;
}

/**
 * Rewrites script commands so flagged scripts run on stock Redis while clients keep using the hashes they
 * computed themselves (of the original text): @upstash/ratelimit tries EVALSHA with a hash baked into its
 * bundle and only falls back to EVAL on NOSCRIPT, so after one EVAL that hash must find the stripped script.
 *
 * An EVALSHA of a hash this bridge never saw is passed through unchanged, so Redis answers NOSCRIPT and the
 * client sends EVAL (e.g. after a bridge restart, when the map is empty again).
 */
export function createScriptTranslator(): ScriptTranslator {
  /** Client hash (of the original script) -> Redis hash (of the stripped script), only for rewritten scripts. */
  const redisShaOf = new Map<string, string>();

  const rewrite = (script: string): string => {
    const stripped = stripUnknownScriptFlags(script);
    if (stripped !== script) redisShaOf.set(sha1Hex(script), sha1Hex(stripped));
    return stripped;
  };
  // Redis compares hashes case-insensitively, so the map must too.
  const redisSha = (sha: string): string => redisShaOf.get(sha.toLowerCase()) ?? sha;

  return {
    translate(command) {
      const [name = "", first, ...rest] = command;
      if (first === undefined) return { command };
      if (name === "EVAL" || name === "EVAL_RO") return { command: [name, rewrite(first), ...rest] };
      if (name === "EVALSHA" || name === "EVALSHA_RO") return { command: [name, redisSha(first), ...rest] };
      if (name !== "SCRIPT") return { command };
      const sub = first.toUpperCase();
      if (sub === "EXISTS") return { command: [name, first, ...rest.map(redisSha)] };
      const script = rest[0];
      if (sub !== "LOAD" || script === undefined) return { command };
      const stripped = rewrite(script);
      if (stripped === script) return { command };
      const clientSha = Buffer.from(sha1Hex(script));
      return {
        command: [name, first, stripped, ...rest.slice(1)],
        mapReply: (reply) => (Buffer.isBuffer(reply) ? clientSha : reply),
      };
    },
  };
}
