import { toHex } from "../lib/hex";
import { HmacSha256 } from "../lib/hmac-sha256";

/**
 * The signature an origin verifies to know a request came through the gateway with the identity it claims:
 *   X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
 * over the lines: t, method, the path with query the origin receives, request id, account, key id, tier
 * (joined with "\n").
 */
export interface SignedIdentity {
  method: string;
  pathWithQuery: string;
  requestId: string;
  accountId: string;
  keyId: string;
  tier: string;
}

/** The secret made ready to sign, by secret: its key blocks are hashed once per isolate, not per request. */
const keyed = new Map<string, HmacSha256>();

function keyFor(secret: string): HmacSha256 {
  let key = keyed.get(secret);
  if (!key) {
    key = new HmacSha256(new TextEncoder().encode(secret));
    keyed.set(secret, key);
  }
  return key;
}

export function canonicalString(timestamp: number, identity: SignedIdentity): string {
  return [
    timestamp,
    identity.method,
    identity.pathWithQuery,
    identity.requestId,
    identity.accountId,
    identity.keyId,
    identity.tier,
  ].join("\n");
}

/**
 * `t=<timestamp>,v1=<hex HMAC-SHA256 of canonicalString>` (RFC 2104 with SHA-256), the X-Gateway-Signature
 * value. `timestamp` is in Unix seconds. Synchronous (lib/hmac-sha256.ts says why); throws nothing.
 */
export function signatureHeader(secret: string, timestamp: number, identity: SignedIdentity): string {
  return `t=${timestamp},v1=${toHex(keyFor(secret).signText(canonicalString(timestamp, identity)))}`;
}
