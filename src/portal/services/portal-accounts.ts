import type { Context } from "hono";
import { openDatabase } from "../../db/client";
import type { Account } from "../../db/schema/accounts";
import { clientAddressKeyOf } from "../../lib/client-address";
import { ApiError } from "../../lib/errors";
import { redisFor } from "../../store/redis";
import { countMailRequest } from "../auth/mail-limit";
import type { PortalEnv } from "../portal-env";
import { mailDepsOf } from "./account-mail";
import { changePassword, requestEmailChange } from "./account-settings";
import { confirmEmail, sendVerification } from "./email-verification";
import { sendPasswordReset, setPasswordWithToken } from "./password-reset";
import { currentAccount, type Limited, startSession } from "./portal-auth";

/**
 * Portal accounts as the pages and the JSON API run them: verification, password reset, invitations and the
 * settings page. One implementation, two renderings (as portal-auth.ts for sign-up and login).
 */
const mailDeps = (c: Context<PortalEnv>) => mailDepsOf(c as never);

/**
 * Mails a new verification link to the signed-in developer, at most 3 an hour.
 * @throws ApiError `conflict` (409) when the address is verified already; 503/502 from the mailer.
 */
export async function resendVerification(c: Context<PortalEnv>): Promise<{ outcome: "sent" } | Limited> {
  const account = await currentAccount(c);
  if (account.emailVerifiedAt)
    throw new ApiError("conflict", { detail: "Your email address is verified already." });
  const deps = mailDeps(c);
  const verdict = await countMailRequest(deps.redis, [{ limit: "verificationResend", id: account.id }]);
  if (!verdict.allowed) return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  await sendVerification(deps, account);
  return { outcome: "sent" };
}

/** Uses a verification or email-change link (see confirmEmail). */
export async function confirmEmailLink(c: Context<PortalEnv>, token: string) {
  return confirmEmail({ db: c.get("db").get(), redis: redisFor(c.get("config")) }, token);
}

/**
 * A password reset request: counted per (email, client address) and per client address (refused past
 * either, known email or not), then answered at once; the lookup, the pacing of the address's reset mails
 * and the mail happen after the response (ctx.waitUntil), so known and unknown addresses get the same answer
 * in the same time. Nothing refuses per email across client addresses: a third party could then keep the
 * owner from resetting (sendPasswordReset paces the mails instead). Mail must be configured (503 otherwise)
 * since the answer promises one.
 */
export async function requestPasswordReset(
  c: Context<PortalEnv>,
  email: string,
): Promise<{ outcome: "accepted" } | Limited> {
  const deps = mailDeps(c);
  const address = clientAddressKeyOf(c.req.raw.headers);
  const verdict = await countMailRequest(deps.redis, [
    { limit: "resetPerEmailAndAddress", email, id: address },
    { limit: "resetPerAddress", id: address },
  ]);
  if (!verdict.allowed) return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  const log = c.get("log");
  // Its own database connection: the request's closes once the response is sent.
  const work = (async () => {
    const { db, close } = openDatabase(c.get("config"));
    try {
      const outcome = await sendPasswordReset({ ...deps, db }, email);
      log.info("portal password reset requested", { outcome });
    } catch (error) {
      log.error("portal password reset mail not sent", { error });
    } finally {
      await close().catch(() => {});
    }
  })();
  c.executionCtx.waitUntil(work);
  return { outcome: "accepted" };
}

/** Sets a new password from a reset link; every session of the account ends. Returns the account id. */
export async function resetPassword(c: Context<PortalEnv>, input: { token: string; password: string }) {
  const accountId = await setPasswordWithToken(
    { db: c.get("db").get(), redis: redisFor(c.get("config")) },
    { ...input, purpose: "reset_password" },
  );
  c.get("log").info("portal password reset", { accountId });
  return accountId;
}

/** Accepts an invitation: sets the password, verifies the address, and signs the visitor in. */
export async function acceptInvitation(c: Context<PortalEnv>, input: { token: string; password: string }) {
  const accountId = await setPasswordWithToken(
    { db: c.get("db").get(), redis: redisFor(c.get("config")) },
    { ...input, purpose: "invitation" },
  );
  c.get("log").info("portal invitation accepted", { accountId });
  return startSession(c, accountId);
}

export async function changeOwnPassword(
  c: Context<PortalEnv>,
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  const session = c.get("session");
  if (!session) throw new Error("behind requireSession() only");
  await changePassword(mailDeps(c), { account: await currentAccount(c), sessionId: session.id, ...input });
}

export async function changeOwnEmail(c: Context<PortalEnv>, input: { email: string; password: string }) {
  await requestEmailChange(mailDeps(c), {
    account: await currentAccount(c),
    newEmail: input.email,
    password: input.password,
  });
}

/** Whether this account may create keys and buy plans now (PORTAL_REQUIRE_VERIFIED_EMAIL). */
export function mayUsePaidFeatures(
  c: Context<PortalEnv>,
  account: Pick<Account, "emailVerifiedAt">,
): boolean {
  return !c.get("config").portalRequireVerifiedEmail || account.emailVerifiedAt !== null;
}
