import { recordAudit } from "../../audit/audit";
import { portalCredentials } from "../../db/schema/portal-credentials";
import { mailTemplates } from "../../mail/templates";
import { consumeToken, issueToken, revokeTokens, TOKEN_LIFETIMES_MS } from "../auth/account-tokens";
import { findLogin } from "../auth/credentials-store";
import { forgetResetMail, mayMailReset, RESET_MAIL_SPACING_MS } from "../auth/mail-limit";
import { hashPassword } from "../auth/password-hash";
import { endOtherSessions } from "../auth/session-store";
import { type AccountMailDeps, tokenLink } from "./account-mail";
import { INVALID_LINK, markVerified } from "./email-verification";
import { type Refused, refused } from "./refusal";

const MINUTES = TOKEN_LIFETIMES_MS.reset_password / 60_000;

/** The one answer to a reset request, whether or not the address has an account, paced or not. */
export const RESET_REQUESTED = `If an account uses this email address, we sent it a link to choose a new password (or did in the last ${RESET_MAIL_SPACING_MS / 60_000} minutes: use the newest). It works for ${MINUTES} minutes.`;

type ResetMailOutcome = "sent" | "no_account" | "paced";

/**
 * Mails a reset link when `email` has an account and its reset mails are not being paced (mayMailReset: a
 * third party asking again and again, from any number of client addresses, gets its inbox at most one mail per
 * RESET_MAIL_SPACING_MS past the first few, and the newest link mailed keeps working: the owner is never
 * without one). Callers run this after answering (ctx.waitUntil), so the answer and its timing are the same
 * for known and unknown addresses, paced or not.
 * @returns what happened (for logs and tests only: never tell the requester).
 * @throws the mailer's error when the send fails (the pacing is forgotten first, so the next request mails).
 */
export async function sendPasswordReset(deps: AccountMailDeps, email: string): Promise<ResetMailOutcome> {
  const found = await findLogin(deps.db, email);
  if (!found) return "no_account";
  const address = email.trim().toLowerCase();
  if (!(await mayMailReset(deps.redis, address))) return "paced";
  try {
    const { token } = await issueToken(deps.db, {
      accountId: found.accountId,
      purpose: "reset_password",
      email: address,
    });
    const link = tokenLink(deps, "reset", token);
    await deps.mailer.send(address, mailTemplates.passwordReset(deps.brand, { link, minutes: MINUTES }));
  } catch (error) {
    await forgetResetMail(deps.redis, address).catch(() => {});
    throw error;
  }
  return "sent";
}

/**
 * Sets the password a reset or invitation link allows, once: the new hash replaces the old one (or is the
 * first), the address counts as verified (the link reached it), every other pending reset or invitation
 * link stops working, and every session of the account ends. Audited.
 * @returns the account id, or an `invalid_token` refusal (400) for an unknown, used, superseded or expired link.
 */
export async function setPasswordWithToken(
  deps: Pick<AccountMailDeps, "db" | "redis">,
  input: { token: string; password: string; purpose: "reset_password" | "invitation" },
): Promise<{ outcome: "set"; accountId: string } | Refused> {
  // The KDF runs before the transaction: 100,000 PBKDF2 rounds should not hold a row lock.
  const passwordHash = await hashPassword(input.password);
  let accountEmail = "";
  const accountId = await deps.db.transaction(async (tx) => {
    const used = await consumeToken(tx, input.token, [input.purpose]);
    // Nothing is written when the link is not valid: the transaction has nothing to roll back.
    if (!used) return undefined;
    accountEmail = used.email;
    await tx
      .insert(portalCredentials)
      .values({ accountId: used.accountId, passwordHash })
      .onConflictDoUpdate({ target: portalCredentials.accountId, set: { passwordHash } });
    await markVerified(tx, used.accountId, used.email);
    await revokeTokens(tx, used.accountId, ["reset_password", "invitation"]);
    await recordAudit(tx, {
      accountId: used.accountId,
      actor: { type: "portal", id: used.accountId },
      action: "account.password_reset",
      targetId: used.accountId,
      data: { via: input.purpose },
    });
    return used.accountId;
  });
  if (accountId === undefined) return refused("invalid_token", INVALID_LINK);
  await endOtherSessions(deps.redis, accountId);
  // No reset link is left in the inbox: a new request must not wait for the pacing of the used one.
  await forgetResetMail(deps.redis, accountEmail);
  return { outcome: "set", accountId };
}
