import type { Actor } from "../../audit/audit";
import { recordAudit } from "../../audit/audit";
import type { Account } from "../../db/schema/accounts";
import { accountExists, createAccountUnlessTaken, getAccount } from "../../keys/account-service";
import type { KeyEnvironment } from "../../keys/key-format";
import { ApiError } from "../../lib/errors";
import { DAY_MS } from "../../lib/time";
import { mailTemplates } from "../../mail/templates";
import type { TierId } from "../../plans/plans";
import { issueToken, TOKEN_LIFETIMES_MS } from "../auth/account-tokens";
import { findLogin } from "../auth/credentials-store";
import { type AccountMailDeps, tokenLink } from "./account-mail";

const DAYS = TOKEN_LIFETIMES_MS.invitation / DAY_MS;

interface Invitation {
  account: Account;
  /** True when the invitation created the account. */
  created: boolean;
  expiresAt: Date;
}

/**
 * Invites `email` to the portal: creates a free (or `tier`) account when the address has none, or invites the
 * existing account when it has no password yet (made through the admin API). The link lets its reader choose
 * a password, which also verifies the address. A second invitation replaces the first link.
 * @throws ApiError `conflict` (409) when the account already has a password (it can reset it instead);
 *   `mail_provider_error` (502) when the mail is refused (the account stays; invite again).
 */
export async function inviteToPortal(
  deps: AccountMailDeps & { keyEnvironment: KeyEnvironment; actor: Actor },
  input: { email: string; tier?: TierId },
): Promise<Invitation> {
  const email = input.email.trim().toLowerCase();
  const existing = await findLogin(deps.db, email);
  if (existing?.passwordHash) {
    throw new ApiError("conflict", {
      detail: "This account can already log in to the portal; its owner can reset the password instead.",
    });
  }
  let created = false;
  let account: Account;
  if (existing) {
    account = await getAccount(deps, existing.accountId);
  } else {
    const made = await createAccountUnlessTaken(deps, { email, tier: input.tier ?? "free" });
    if (made) {
      account = made;
      created = true;
    } else {
      // Created concurrently by someone else: invite that account, unless it can log in already.
      const raced = await findLogin(deps.db, email);
      if (!raced || raced.passwordHash) throw accountExists();
      account = await getAccount(deps, raced.accountId);
    }
  }
  const { token, expiresAt } = await deps.db.transaction(async (tx) => {
    const issued = await issueToken(tx, { accountId: account.id, purpose: "invitation", email });
    await recordAudit(tx, {
      accountId: account.id,
      actor: deps.actor,
      action: "account.invited",
      targetId: account.id,
      data: { created },
    });
    return issued;
  });
  const mail = mailTemplates.invitation(deps.brand, {
    link: tokenLink(deps, "invitation", token),
    days: DAYS,
  });
  await deps.mailer.send(email, mail);
  return { account, created, expiresAt };
}
