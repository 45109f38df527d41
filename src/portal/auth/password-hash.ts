/**
 * Password hashing with PBKDF2-HMAC-SHA256 through WebCrypto, the only password KDF Workers run natively.
 * Workers refuse PBKDF2 above 100,000 iterations, so that is the cost used; each hash carries its algorithm,
 * iterations and salt (`$pbkdf2-sha256$i=100000$<salt>$<hash>`, base64url), so the cost can be raised, or the
 * algorithm changed, without invalidating stored hashes: `needsRehash` tells the login to upgrade them.
 */
export const PASSWORD_ITERATIONS = 100_000;
const ALGORITHM = "pbkdf2-sha256";
const SALT_BYTES = 16;
const HASH_BITS = 256;
const PHC = /^\$pbkdf2-sha256\$i=(\d{1,7})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/;

const encoder = new TextEncoder();

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    HASH_BITS,
  );
  return new Uint8Array(bits);
}

/** Constant-time comparison of two byte strings of the same length. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

export async function hashPassword(password: string, iterations = PASSWORD_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `$${ALGORITHM}$i=${iterations}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

/**
 * True when `password` matches `stored`. A malformed stored value never matches, and costs the same work
 * as a real check, so nothing about the stored value shows in the time taken.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored);
  const iterations = match ? Number(match[1]) : PASSWORD_ITERATIONS;
  const usable = match !== null && iterations >= 1 && iterations <= PASSWORD_ITERATIONS;
  const salt = usable ? fromBase64Url(match[2] as string) : new Uint8Array(SALT_BYTES);
  const expected = usable ? fromBase64Url(match[3] as string) : new Uint8Array(HASH_BITS / 8);
  const actual = await derive(password, salt, usable ? iterations : PASSWORD_ITERATIONS);
  return sameBytes(actual, expected) && usable;
}

/** A stored hash made with a weaker setting than today's: rehash it once the password is known. */
export function needsRehash(stored: string): boolean {
  const match = PHC.exec(stored);
  return !match || Number(match[1]) < PASSWORD_ITERATIONS;
}

/**
 * A well-formed hash of no one's password, checked when an email has no password, so an unknown email
 * costs the same PBKDF2 work as a wrong password and the two cannot be told apart by timing.
 */
export const DECOY_HASH = `$${ALGORITHM}$i=${PASSWORD_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$${"A".repeat(43)}`;
