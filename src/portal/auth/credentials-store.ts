import { eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { accounts } from "../../db/schema/accounts";
import { portalCredentials } from "../../db/schema/portal-credentials";

/** An account found by email, with its portal password hash when it has one. */
interface LoginRecord {
  accountId: string;
  passwordHash: string | null;
}

export async function findLogin(db: Database, email: string): Promise<LoginRecord | undefined> {
  const [row] = await db
    .select({ accountId: accounts.id, passwordHash: portalCredentials.passwordHash })
    .from(accounts)
    .leftJoin(portalCredentials, eq(portalCredentials.accountId, accounts.id))
    .where(eq(accounts.email, email.trim().toLowerCase()))
    .limit(1);
  return row;
}

/** Sets a password only where none exists yet: sign-up never overwrites someone's password. */
export async function insertCredential(
  db: Pick<Database, "insert">,
  accountId: string,
  passwordHash: string,
): Promise<boolean> {
  const inserted = await db
    .insert(portalCredentials)
    .values({ accountId, passwordHash })
    .onConflictDoNothing()
    .returning({ accountId: portalCredentials.accountId });
  return inserted.length > 0;
}

export async function replaceHash(
  db: Pick<Database, "update">,
  accountId: string,
  passwordHash: string,
): Promise<void> {
  await db.update(portalCredentials).set({ passwordHash }).where(eq(portalCredentials.accountId, accountId));
}
