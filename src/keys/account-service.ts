import { eq } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { type Account, accounts } from "../db/schema/accounts";
import { ApiError } from "../lib/errors";
import type { TierId } from "../plans/plans";
import { accountRef, invalidateBeforeCommit, publishAfterCommit } from "./edge-outbox";
import { newId } from "./key-format";
import { isUniqueViolation, type KeyServiceDeps } from "./service-deps";

/**
 * Account operations shared by the admin API, the portal and billing. Postgres is written first (the source
 * of truth, with the audit row in the same transaction), then Redis, which every edge reads on its next
 * request.
 * @throws ApiError `conflict` (409) when an account has this email already (see createAccountUnlessTaken).
 */
export async function createAccount(
  deps: KeyServiceDeps,
  input: { email: string; tier: TierId; id?: string },
  /** More writes that must stand or fall with the account (e.g. the portal's credentials). */
  alongside?: (tx: Pick<Database, "insert">, account: Account) => Promise<unknown>,
): Promise<Account> {
  const account = await createAccountUnlessTaken(deps, input, alongside);
  if (!account) throw accountExists();
  return account;
}

/** The 409 of an email that has an account already. */
export const accountExists = () => new ApiError("conflict", { detail: "An account with this email exists." });

/**
 * As createAccount, but an email that has an account already (emails are unique, case-insensitively) is an
 * answer, not an error: undefined, and nothing is written. For callers to whom a taken email is an expected
 * outcome (sign-up, invitations racing each other).
 */
export async function createAccountUnlessTaken(
  deps: KeyServiceDeps,
  input: { email: string; tier: TierId; id?: string },
  alongside?: (tx: Pick<Database, "insert">, account: Account) => Promise<unknown>,
): Promise<Account | undefined> {
  let account: Account | undefined;
  try {
    account = await deps.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(accounts)
        // A caller may choose the id, e.g. the portal, whose audit actor is the account being created.
        .values({ id: input.id ?? newId("acct"), email: input.email.toLowerCase(), tier: input.tier })
        .returning();
      if (!row) throw new Error("insert returned no row");
      await recordAudit(tx, {
        accountId: row.id,
        actor: deps.actor,
        action: "account.created",
        targetId: row.id,
        data: { tier: row.tier },
      });
      await alongside?.(tx, row);
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
  await publishAfterCommit(deps, [accountRef(account.id)]);
  return account;
}

export async function getAccount(deps: Pick<KeyServiceDeps, "db">, id: string): Promise<Account> {
  const [account] = await deps.db.select().from(accounts).where(eq(accounts.id, id)).limit(1);
  if (!account) throw new ApiError("not_found", { detail: "No account with this id." });
  return account;
}

export async function setAccountTier(deps: KeyServiceDeps, id: string, tier: TierId): Promise<Account> {
  const account = await deps.db.transaction(async (tx) => {
    const [before] = await tx.select().from(accounts).where(eq(accounts.id, id)).for("update").limit(1);
    if (!before) throw new ApiError("not_found", { detail: "No account with this id." });
    if (before.tier === tier) return before;
    const [after] = await tx.update(accounts).set({ tier }).where(eq(accounts.id, id)).returning();
    if (!after) throw new Error("update returned no row");
    await recordAudit(tx, {
      accountId: id,
      actor: deps.actor,
      action: "account.tier_changed",
      targetId: id,
      data: { from: before.tier, to: tier },
    });
    // A downgrade must not outlive its commit in Redis: the record goes first (see edge-outbox.ts).
    await invalidateBeforeCommit(deps.redis, [accountRef(id)]);
    return after;
  });
  // Also when nothing changed: a retry is what repairs a publish that failed before.
  await publishAfterCommit(deps, [accountRef(account.id)]);
  return account;
}
