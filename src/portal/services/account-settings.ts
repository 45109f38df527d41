import { recordAudit } from "../../audit/audit";
import type { Account } from "../../db/schema/accounts";
import { mailTemplates } from "../../mail/templates";
import { revokeTokens } from "../auth/account-tokens";
import { findLogin, replaceHash } from "../auth/credentials-store";
import { forgetResetMail } from "../auth/mail-limit";
import { hashPassword, verifyPassword } from "../auth/password-hash";
import { endOtherSessions } from "../auth/session-store";
import { type AccountMailDeps, portalLink } from "./account-mail";
import { sendEmailChange, sendVerification } from "./email-verification";
import { type Refused, refused } from "./refusal";
import type { SignUpOutcome } from "./sign-in";

/**
 * What a sign-up tells the address: a verification link for a new account, a notice for an existing one
 * (someone tried to sign up with it). Failures are logged, not thrown: the sign-up's answer must not differ,
 * and a developer without the mail can ask for another link once logged in.
 */
export async function mailAfterSignUp(
  deps: AccountMailDeps,
  email: string,
  outcome: SignUpOutcome,
): Promise<void> {
  try {
    if (outcome.outcome === "created") {
      await sendVerification(deps, { id: outcome.accountId, email: email.trim().toLowerCase() });
    } else {
      const mail = mailTemplates.signUpAttempt(deps.brand, {
        loginLink: portalLink(deps, "login"),
        resetLink: portalLink(deps, "forgot"),
      });
      await deps.mailer.send(email.trim().toLowerCase(), mail);
    }
  } catch (error) {
    deps.log.error("portal sign-up mail not sent", { error });
  }
}

const WRONG_PASSWORD = "The current password is not correct.";

/** Undefined when the account's password is `password`, else a refusal naming the field (400). */
async function checkPassword(
  deps: Pick<AccountMailDeps, "db">,
  account: Account,
  password: string,
): Promise<Refused | undefined> {
  const found = await findLogin(deps.db, account.email);
  const ok = found?.passwordHash ? await verifyPassword(password, found.passwordHash) : false;
  return ok ? undefined : refused("validation_failed", WRONG_PASSWORD, { field: "currentPassword" });
}

/**
 * Changes the password of a signed-in developer: the current one is required; every other session of the
 * account ends and pending reset links stop working; the address gets a notice (logged if it fails: the
 * change stands). Audited.
 * @returns `changed`, or a refusal (validation_failed, field currentPassword) when the current password is wrong.
 */
export async function changePassword(
  deps: AccountMailDeps,
  input: { account: Account; sessionId: string; currentPassword: string; newPassword: string },
): Promise<{ outcome: "changed" } | Refused> {
  const wrong = await checkPassword(deps, input.account, input.currentPassword);
  if (wrong) return wrong;
  const passwordHash = await hashPassword(input.newPassword);
  await deps.db.transaction(async (tx) => {
    await replaceHash(tx, input.account.id, passwordHash);
    await revokeTokens(tx, input.account.id, ["reset_password"]);
    await recordAudit(tx, {
      accountId: input.account.id,
      actor: { type: "portal", id: input.account.id },
      action: "account.password_changed",
      targetId: input.account.id,
    });
  });
  await endOtherSessions(deps.redis, input.account.id, input.sessionId);
  // The pending reset links stopped working: a new reset request must not wait for their mails' pacing.
  await forgetResetMail(deps.redis, input.account.email);
  try {
    await deps.mailer.send(input.account.email, mailTemplates.passwordChanged(deps.brand));
  } catch (error) {
    deps.log.error("password-changed notice not sent", { error });
  }
  return { outcome: "changed" };
}

/**
 * Starts an email change: the current password is required; a link goes to the new address and a notice to
 * the current one. The address changes only when the link is opened (confirmEmail).
 * @returns `sent`, or a refusal (validation_failed) for a wrong password (field currentPassword) or the same
 *   address (field email).
 * @throws ApiError `mail_provider_error` (502) when the provider refuses.
 */
export async function requestEmailChange(
  deps: AccountMailDeps,
  input: { account: Account; newEmail: string; password: string },
): Promise<{ outcome: "sent" } | Refused> {
  const wrong = await checkPassword(deps, input.account, input.password);
  if (wrong) return wrong;
  const newEmail = input.newEmail.trim().toLowerCase();
  if (newEmail === input.account.email) {
    return refused("validation_failed", "That is already your email address.", { field: "email" });
  }
  await sendEmailChange(deps, input.account, newEmail);
  return { outcome: "sent" };
}
