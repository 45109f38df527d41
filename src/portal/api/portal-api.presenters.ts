import type { Account } from "../../db/schema/accounts";

export function presentSession(account: Account, csrfToken: string) {
  return {
    account: {
      id: account.id,
      email: account.email,
      tier: account.tier,
      emailVerified: account.emailVerifiedAt !== null,
    },
    csrfToken,
  };
}
