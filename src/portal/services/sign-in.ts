import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "../../db/client";
import { createAccountUnlessTaken } from "../../keys/account-service";
import type { KeyEnvironment } from "../../keys/key-format";
import { newId } from "../../keys/key-format";
import type { Logger } from "../../lib/log";
import { findLogin, insertCredential, replaceHash } from "../auth/credentials-store";
import { DECOY_HASH, hashPassword, needsRehash, verifyPassword } from "../auth/password-hash";

export interface SignInDeps {
  db: Database;
  redis: Redis;
  keyEnvironment: KeyEnvironment;
  log: Logger;
}

/**
 * Sign-up answers no sooner than this after it started, whichever way it went: creating an account costs a
 * transaction and a Redis write more than finding the email taken, and that difference must not tell anyone
 * which emails have accounts. Measured against the local stack's Postgres: a new account about 50 ms warm and
 * 170 ms cold, a taken email about 30 ms (PBKDF2 is some 25 ms of either). Past the floor, a warning says so.
 */
export const SIGN_UP_MIN_MS = 400;

const sleepUntil = (deadline: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())));

/**
 * Creates a free account with this password, unless the email already has an account: then nothing changes
 * and the caller answers exactly as for a new account ("if the email could be registered, log in"), so
 * sign-up cannot be used to find out who has an account. An account made through the admin API (no
 * password) is not claimed either: without a proof of owning the email, that would hand over its keys.
 */
export type SignUpOutcome =
  | { outcome: "created"; accountId: string }
  | { outcome: "taken"; accountId?: string };

export async function signUp(
  deps: SignInDeps,
  input: { email: string; password: string },
  /**
   * Portal accounts: what to tell the address (a verification link, or "someone tried to sign up"), inside
   * the timing floor so the mail's cost shows the same either way. Its failures are the caller's to log.
   */
  notify?: (outcome: SignUpOutcome) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  try {
    const passwordHash = await hashPassword(input.password);
    const taken = await findLogin(deps.db, input.email);
    if (taken) {
      await notify?.({ outcome: "taken", accountId: taken.accountId });
      return;
    }
    // The developer signing up is the audit actor: the account's id is chosen here so it can be named.
    const accountId = newId("acct");
    // The credentials in the account's own transaction: never an account nobody can log in to.
    const created = await createAccountUnlessTaken(
      { ...deps, actor: { type: "portal", id: accountId } },
      { id: accountId, email: input.email, tier: "free" },
      (tx) => insertCredential(tx, accountId, passwordHash),
    );
    if (!created) {
      // A concurrent sign-up with the same email won the race: the same neutral answer.
      await notify?.({ outcome: "taken" });
      return;
    }
    deps.log.info("portal sign-up", { accountId });
    await notify?.({ outcome: "created", accountId });
  } finally {
    const elapsed = Date.now() - started;
    if (elapsed > SIGN_UP_MIN_MS)
      deps.log.warn("portal sign-up took longer than its timing floor", { elapsed });
    await sleepUntil(started + SIGN_UP_MIN_MS);
  }
}

/**
 * The account whose email and password these are, else undefined. Whether the email is unknown, has no
 * password or the password is wrong, the same PBKDF2 work is done (against a decoy hash when there is no
 * real one) and the same undefined returned: neither the answer nor its timing says which it was.
 */
export async function logIn(
  deps: SignInDeps,
  input: { email: string; password: string },
): Promise<string | undefined> {
  const found = await findLogin(deps.db, input.email);
  const stored = found?.passwordHash ?? DECOY_HASH;
  const matches = await verifyPassword(input.password, stored);
  if (!found?.passwordHash || !matches) return undefined;
  if (needsRehash(stored)) {
    // The cost was raised since this hash was made: upgrade it now that the password is known.
    await replaceHash(deps.db, found.accountId, await hashPassword(input.password));
  }
  return found.accountId;
}
