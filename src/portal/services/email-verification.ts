import { and, eq, isNull } from "drizzle-orm";
import { recordAudit } from "../../audit/audit";
import { accounts } from "../../db/schema/accounts";
import { isUniqueViolation } from "../../keys/service-deps";
import { mailTemplates } from "../../mail/templates";
import { consumeToken, issueToken, TOKEN_LIFETIMES_MS } from "../auth/account-tokens";
import { type AccountMailDeps, tokenLink } from "./account-mail";
import { type Refused, refused } from "./refusal";

const HOURS = TOKEN_LIFETIMES_MS.verify_email / 3_600_000;

export const INVALID_LINK =
  "This link is not valid: it may have expired, been used already, or been replaced by a newer one.";

/**
 * Mails a fresh verification link to the account's address (earlier links stop working).
 * @throws ApiError `mail_provider_error` (502) when the provider refuses.
 */
export async function sendVerification(
  deps: AccountMailDeps,
  account: { id: string; email: string },
): Promise<void> {
  const { token } = await issueToken(deps.db, {
    accountId: account.id,
    purpose: "verify_email",
    email: account.email,
  });
  const mail = mailTemplates.verifyEmail(deps.brand, {
    link: tokenLink(deps, "verify", token),
    hours: HOURS,
  });
  await deps.mailer.send(account.email, mail);
}

/**
 * Mails a link to `newEmail` that, once opened, makes it the account's address; the current address gets a
 * notice. Whether another account uses `newEmail` shows only when the link is used (409).
 * @throws ApiError `mail_provider_error` (502).
 */
export async function sendEmailChange(
  deps: AccountMailDeps,
  account: { id: string; email: string },
  newEmail: string,
): Promise<void> {
  const { token } = await issueToken(deps.db, {
    accountId: account.id,
    purpose: "change_email",
    email: newEmail,
  });
  const link = tokenLink(deps, "verify", token);
  await deps.mailer.send(newEmail, mailTemplates.changeEmailVerify(deps.brand, { link, hours: HOURS }));
  await deps.mailer.send(account.email, mailTemplates.changeEmailNotice(deps.brand, { newEmail }));
}

type ConfirmedEmail = { outcome: "confirmed"; accountId: string; email: string; change: boolean };

/** Thrown inside confirmEmail's transaction so the link's use rolls back; never leaves this module. */
class LinkNotValid extends Error {}

/**
 * Uses a verification or email-change link once: the account's address is verified, or replaced by the
 * confirmed new one. Audited.
 * @returns the confirmed address, or a refusal: `invalid_token` (400) for an unknown, used, superseded or
 *   expired link, or one for an address the account no longer has; `conflict` (409) when another account took
 *   the new address meanwhile. A refused link stays as it was.
 */
export async function confirmEmail(
  deps: Pick<AccountMailDeps, "db" | "redis">,
  token: string,
): Promise<ConfirmedEmail | Refused> {
  try {
    return await deps.db.transaction(async (tx) => {
      const used = await consumeToken(tx, token, ["verify_email", "change_email"]);
      if (!used) throw new LinkNotValid();
      const change = used.purpose === "change_email";
      const [updated] = await tx
        .update(accounts)
        .set(change ? { email: used.email, emailVerifiedAt: new Date() } : { emailVerifiedAt: new Date() })
        .where(
          change
            ? eq(accounts.id, used.accountId)
            : and(eq(accounts.id, used.accountId), eq(accounts.email, used.email)),
        )
        .returning({ id: accounts.id, email: accounts.email });
      if (!updated) throw new LinkNotValid();
      await recordAudit(tx, {
        accountId: used.accountId,
        actor: { type: "portal", id: used.accountId },
        action: change ? "account.email_changed" : "account.email_verified",
        targetId: used.accountId,
        data: {},
      });
      return { outcome: "confirmed" as const, accountId: used.accountId, email: updated.email, change };
    });
  } catch (error) {
    if (error instanceof LinkNotValid) return refused("invalid_token", INVALID_LINK);
    if (isUniqueViolation(error)) return refused("conflict", "Another account uses this email address now.");
    throw error;
  }
}

/** Whether the account's address is verified (a null `email_verified_at` is not). */
export async function isEmailVerified(
  deps: Pick<AccountMailDeps, "db">,
  accountId: string,
): Promise<boolean> {
  const [row] = await deps.db
    .select({ verifiedAt: accounts.emailVerifiedAt })
    .from(accounts)
    .where(eq(accounts.id, accountId))
    .limit(1);
  return Boolean(row?.verifiedAt);
}

/** Marks the address verified when it still is `email` (a reset or invitation link proved the mailbox). */
export async function markVerified(
  db: Pick<AccountMailDeps["db"], "update">,
  accountId: string,
  email: string,
): Promise<void> {
  await db
    .update(accounts)
    .set({ emailVerifiedAt: new Date() })
    .where(and(eq(accounts.id, accountId), eq(accounts.email, email), isNull(accounts.emailVerifiedAt)));
}
