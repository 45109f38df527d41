import { decoyHits, originRecords } from "./control.ts";
import { env } from "./environment.ts";
import type { OriginRecord } from "./recording-origin.ts";

export interface Expected {
  /** The identity the gateway must assert for every proxied request in the window. */
  accountId: string;
  keyId: string;
}

export interface AuditMark {
  next: number;
  decoyHits: number;
}

export async function auditMark(): Promise<AuditMark> {
  return { next: (await originRecords(1e12)).next, decoyHits: await decoyHits() };
}

/** A header the fuzzers try to smuggle in through CR/LF in values, paths and queries. */
export const INJECTED = "x-injected";

/**
 * Everything that reached the origin since `mark`, checked: on the origin's own host, under /v1 (as the
 * origin's URL parser resolves it), with the identity of the key actually used, a valid signature, and no
 * smuggled header; and the decoy untouched. Returns the broken rules, and the paths that only a origin
 * which percent-decodes "/" or "\" would resolve outside /v1 (a hardening note, not a broken rule).
 */
export async function auditOrigin(
  mark: AuditMark,
  expected: Expected | ((record: OriginRecord) => Expected | undefined),
): Promise<{ broken: string[]; records: number; decodedEscapes: string[] }> {
  const { records } = await originRecords(mark.next);
  const broken: string[] = [];
  const decodedEscapes: string[] = [];
  for (const record of records) {
    const where = `${record.method} ${record.url.slice(0, 120)}`;
    if (record.host !== env.origin.host) broken.push(`${where}: Host ${record.host} at the origin`);
    const value = (name: string) => record.headers.find(([key]) => key === name)?.[1];
    if (record.headers.some(([name]) => name.startsWith(INJECTED)))
      broken.push(`${where}: smuggled header arrived`);
    // The gateway's docs merge fetches the origin's document itself, unsigned and with no identity.
    const isDocsFetch =
      record.method === "GET" && record.url === "/openapi.json" && !value("x-gateway-account");
    if (isDocsFetch) continue;
    const path = new URL(record.url, "http://origin.invalid").pathname;
    if (path !== "/v1" && !path.startsWith("/v1/")) broken.push(`${where}: outside /v1 (${path})`);
    else if (escapesWhenDecoded(path)) decodedEscapes.push(record.url.slice(0, 120));
    const want = typeof expected === "function" ? expected(record) : expected;
    if (!want) broken.push(`${where}: no request of the test should have reached the origin`);
    else if (value("x-gateway-account") !== want.accountId || value("x-gateway-key-id") !== want.keyId) {
      broken.push(
        `${where}: identity ${value("x-gateway-account")}/${value("x-gateway-key-id")}, want ${want.accountId}/${want.keyId}`,
      );
    }
    if (record.signatureValid !== true) broken.push(`${where}: signature ${record.signatureValid}`);
  }
  const hits = (await decoyHits()) - mark.decoyHits;
  if (hits > 0) broken.push(`the decoy listener was reached ${hits} time(s)`);
  return { broken, records: records.length, decodedEscapes };
}

/** True when percent-decoding "/" and "\" (as some origins do before routing) would leave /v1. */
function escapesWhenDecoded(path: string): boolean {
  const decoded = path.replace(/%2f/gi, "/").replace(/%5c/gi, "/").replace(/\\/g, "/").replace(/%2e/gi, ".");
  const resolved = new URL(decoded, "http://origin.invalid").pathname;
  return resolved !== "/v1" && !resolved.startsWith("/v1/");
}
