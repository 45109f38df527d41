import { toHex } from "../lib/hex";
import type { CommandBatch } from "./command-batch";

export interface LuaScript {
  name: string;
  source: string;
}

/** SHA1 of each script by source, computed once per isolate (WebCrypto digests are async). */
const shas = new Map<string, string>();

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return toHex(digest);
}

/** Computes the SHAs so evalScript can add EVALSHA synchronously, inside the current batch. */
export async function prepareScripts(...scripts: LuaScript[]): Promise<void> {
  for (const script of scripts) {
    if (!shas.has(script.source)) shas.set(script.source, await sha1Hex(script.source));
  }
}

/**
 * EVALSHA in the batch (EVAL while the SHA is not computed yet), falling back to EVAL in a round trip of
 * its own when Redis has not seen the script, as after a restart.
 */
export function evalScript<T>(
  batch: CommandBatch,
  script: LuaScript,
  keys: string[],
  args: unknown[],
): Promise<T> {
  const sha = shas.get(script.source);
  if (!sha) return batch.add<T>((p) => p.eval(script.source, keys, args));
  return batch
    .add<T>((p) => p.evalsha(sha, keys, args))
    .catch((error: Error) => {
      if (!String(error).includes("NOSCRIPT")) throw error;
      return batch.add<T>((p) => p.eval(script.source, keys, args));
    });
}
