// With its extension: Node-side scripts and tests import this file too (native TypeScript needs it).
import { toHex } from "../lib/hex.ts";

/**
 * API key format: `gw_<env>_<32 random base62 chars><6-char base62 CRC32 checksum>`, like GitHub's tokens.
 * The checksum lets the edge refuse a mistyped or made-up key with no network call, and the readable prefix
 * makes leaked keys easy to find with secret scanners.
 */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
export type KeyEnvironment = "live" | "test";

const KEY_SHAPE = /^gw_(live|test)_([0-9A-Za-z]{38})$/;

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc = (crcTable[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function toBase62(value: number, length: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** Unbiased random base62 string (rejection sampling: 62 does not divide 256). */
function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function generateApiKey(environment: KeyEnvironment): string {
  const body = `gw_${environment}_${randomBase62(RANDOM_LENGTH)}`;
  return body + toBase62(crc32(body), CHECKSUM_LENGTH);
}

/** The environment of a well-formed key whose checksum matches, else undefined. Pure: no I/O. */
export function parseApiKey(candidate: string): KeyEnvironment | undefined {
  const match = KEY_SHAPE.exec(candidate);
  if (!match) return undefined;
  const body = candidate.slice(0, candidate.length - CHECKSUM_LENGTH);
  const checksum = candidate.slice(candidate.length - CHECKSUM_LENGTH);
  return toBase62(crc32(body), CHECKSUM_LENGTH) === checksum ? (match[1] as KeyEnvironment) : undefined;
}

/** The part of a key safe to show in lists: the prefix and 4 random characters. */
export function displayStart(key: string): string {
  return key.slice(0, "gw_live_".length + 4);
}

/** Hex SHA-256 of the key: the only form in which a key is stored or used as a cache key. */
export async function hashApiKey(key: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", ENCODER.encode(key)));
}

const ENCODER = new TextEncoder();

/** Prefixed random ids (acct_..., key_...) that read well in logs and URLs. */
export function newId(prefix: "acct" | "key"): string {
  return `${prefix}_${randomBase62(20)}`;
}

/**
 * The shape of every id we issue. Ids from URLs are checked against it before any query: anything else
 * (a NUL byte, a path fragment, 10 kB of junk) could only be unknown anyway.
 */
export const ID_SHAPE = /^(acct|key)_[0-9A-Za-z]{1,40}$/;
