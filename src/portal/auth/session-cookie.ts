import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { SECONDS_PER_DAY } from "../../lib/time";

/**
 * The portal's two cookies, both `__Host-` (Secure, Path=/, no Domain: a sibling subdomain cannot plant or
 * read them), HttpOnly (no script reads them) and SameSite=Lax (not sent on cross-site POSTs). Chromium
 * treats http://127.0.0.1 and http://localhost as secure contexts, so the same names work in `npm run dev`.
 * Their names start with gw_ so the proxy strips them before the origin (src/gateway/proxy.ts).
 *   - session: the sign-in (see session-store.ts);
 *   - presession: a random value for visitors who are not signed in, which the CSRF token of the sign-up
 *     and login forms is bound to (login CSRF). Stateless: never stored.
 */
const SESSION = "gw_session";
const PRESESSION = "gw_presession";
export const SESSION_COOKIE_NAME = `__Host-${SESSION}`;
export const PRESESSION_COOKIE_NAME = `__Host-${PRESESSION}`;
const PRESESSION_MAX_AGE_SECONDS = SECONDS_PER_DAY;

const flags = { prefix: "host", path: "/", secure: true, httpOnly: true, sameSite: "Lax" } as const;

export const readSessionCookie = (c: Context) => getCookie(c, SESSION, "host");
export const readPresessionCookie = (c: Context) => getCookie(c, PRESESSION, "host");

export function writeSessionCookie(c: Context, id: string, maxAgeSeconds: number): void {
  setCookie(c, SESSION, id, { ...flags, maxAge: maxAgeSeconds });
  // Signed in now: the visitor's presession has done its job.
  deleteCookie(c, PRESESSION, flags);
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION, flags);
}

export function writePresessionCookie(c: Context, value: string): void {
  setCookie(c, PRESESSION, value, { ...flags, maxAge: PRESESSION_MAX_AGE_SECONDS });
}
