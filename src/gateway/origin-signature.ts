import { toHex } from "../lib/hex";

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

const keys = new Map<string, Promise<CryptoKey>>();
const utf8 = new TextEncoder();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    keys.set(secret, key);
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

export async function signatureHeader(
  secret: string,
  timestamp: number,
  identity: SignedIdentity,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    utf8.encode(canonicalString(timestamp, identity)),
  );
  return `t=${timestamp},v1=${toHex(mac)}`;
}
