import { timingSafeEqual } from "hono/utils/buffer";
import { toBase64Url } from "./password-hash";

/**
 * CSRF tokens bound to the visitor: HMAC-SHA256 keyed with the session id (signed in) or the presession value
 * (signed out), both 256-bit secrets that live only in HttpOnly cookies. A page from another site can make
 * the browser send the cookie but can neither read it nor the token derived from it, so it cannot forge the
 * token; the token in turn reveals nothing about the cookie (HMAC is one-way), and no server secret has to be
 * configured or rotated. Checked on every POST/PUT/PATCH/DELETE, next to hono's Origin check.
 */
const LABEL = new TextEncoder().encode("gw-portal-csrf-v1");

async function hmac(secret: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, LABEL));
}

export async function csrfTokenFor(secret: string): Promise<string> {
  return toBase64Url(await hmac(secret));
}

/** Compared in constant time (hono's timingSafeEqual hashes both sides first). */
export async function csrfTokenMatches(
  secret: string | undefined,
  presented: string | undefined,
): Promise<boolean> {
  if (!secret || !presented || presented.length > 128) return false;
  return timingSafeEqual(presented, await csrfTokenFor(secret));
}
