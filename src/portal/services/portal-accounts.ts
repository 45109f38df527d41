import { openDatabase } from "../../db/client";
import { countMailRequest } from "../auth/mail-limit";
import { accountMailDeps } from "./account-mail";
import { changePassword, requestEmailChange } from "./account-settings";
import { confirmEmail, sendVerification } from "./email-verification";
import { sendPasswordReset, setPasswordWithToken } from "./password-reset";
import { currentAccount, type Limited, type SignedIn, startSession } from "./portal-auth";
import { type PortalCaller, sessionOf } from "./portal-deps";
import { isRefused, type Refused, refused } from "./refusal";

/**
 * Portal accounts as the pages and the JSON API run them: verification, password reset, invitations and the
 * settings page. One implementation, two renderings (as portal-auth.ts for sign-up and login).
 */
const mailDeps = (caller: PortalCaller) => accountMailDeps(caller.services);

/**
 * Mails a new verification link to the signed-in developer, at most 3 an hour.
 * @returns `sent`, `limited`, or a `conflict` refusal (409) when the address is verified already.
 * @throws ApiError 503/502 from the mailer.
 */
export async function resendVerification(
  caller: PortalCaller,
): Promise<{ outcome: "sent" } | Limited | Refused> {
  const account = await currentAccount(caller);
  if (account.emailVerifiedAt) return refused("conflict", "Your email address is verified already.");
  const deps = mailDeps(caller);
  const verdict = await countMailRequest(deps.redis, [{ limit: "verificationResend", id: account.id }]);
  if (!verdict.allowed) return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  await sendVerification(deps, account);
  return { outcome: "sent" };
}

/** Uses a verification or email-change link (see confirmEmail). */
export async function confirmEmailLink(caller: PortalCaller, token: string) {
  const { db, redis } = caller.services;
  return confirmEmail({ db, redis }, token);
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
  caller: PortalCaller,
  email: string,
): Promise<{ outcome: "accepted" } | Limited> {
  const deps = mailDeps(caller);
  const address = caller.address;
  const verdict = await countMailRequest(deps.redis, [
    { limit: "resetPerEmailAndAddress", email, id: address },
    { limit: "resetPerAddress", id: address },
  ]);
  if (!verdict.allowed) return { outcome: "limited", retryAfterSeconds: verdict.retryAfterSeconds };
  const { log, config } = caller.services;
  // Its own database connection: the request's closes once the response is sent.
  const work = (async () => {
    const { db, close } = openDatabase(config);
    try {
      const outcome = await sendPasswordReset({ ...deps, db }, email);
      log.info("portal password reset requested", { outcome });
    } catch (error) {
      log.error("portal password reset mail not sent", { error });
    } finally {
      await close().catch(() => {});
    }
  })();
  caller.services.waitUntil(work);
  return { outcome: "accepted" };
}

/** Sets a new password from a reset link; every session of the account ends (see setPasswordWithToken). */
export async function resetPassword(caller: PortalCaller, input: { token: string; password: string }) {
  const { db, redis, log } = caller.services;
  const result = await setPasswordWithToken({ db, redis }, { ...input, purpose: "reset_password" });
  if (!isRefused(result)) log.info("portal password reset", { accountId: result.accountId });
  return result;
}

/**
 * Accepts an invitation: sets the password, verifies the address, and signs the visitor in.
 * @returns the new session, or an `invalid_token` refusal (400) for a link that is not valid.
 */
export async function acceptInvitation(
  caller: PortalCaller,
  input: { token: string; password: string },
): Promise<SignedIn | Refused> {
  const { db, redis, log } = caller.services;
  const result = await setPasswordWithToken({ db, redis }, { ...input, purpose: "invitation" });
  if (isRefused(result)) return result;
  log.info("portal invitation accepted", { accountId: result.accountId });
  return startSession(caller, result.accountId);
}

/** Changes the signed-in developer's password (see changePassword): `changed`, or a refusal for a wrong one. */
export async function changeOwnPassword(
  caller: PortalCaller,
  input: { currentPassword: string; newPassword: string },
) {
  const session = sessionOf(caller);
  return changePassword(mailDeps(caller), {
    account: await currentAccount(caller),
    sessionId: session.id,
    ...input,
  });
}

/** Starts the signed-in developer's email change (see requestEmailChange): `sent`, or a refusal. */
export async function changeOwnEmail(caller: PortalCaller, input: { email: string; password: string }) {
  return requestEmailChange(mailDeps(caller), {
    account: await currentAccount(caller),
    newEmail: input.email,
    password: input.password,
  });
}
