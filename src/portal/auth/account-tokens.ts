import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { type AccountToken, accountTokens, type TokenPurpose } from "../../db/schema/account-tokens";
import { DAY_MS } from "../../lib/time";
import { newSecret, sha256Hex } from "./session-store";

/**
 * Single-use tokens for links sent by email. A token is 256 random bits (base64url, 43 characters) that
 * only the mail carries; Postgres keeps its SHA-256. Using one is a conditional UPDATE (unused, unexpired,
 * of the right purpose), so two clicks racing each other cannot both succeed.
 */
export const TOKEN_LIFETIMES_MS: Record<TokenPurpose, number> = {
  verify_email: DAY_MS,
  change_email: DAY_MS,
  reset_password: 30 * 60_000,
  invitation: 7 * DAY_MS,
};

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

type Writer = Pick<Database, "insert" | "update">;

/**
 * A new token for `accountId`: earlier unused tokens of the same purpose stop working (the newest link is the
 * only one that counts). Returns the token: put it in the mail, nowhere else.
 */
export async function issueToken(
  db: Writer,
  input: { accountId: string; purpose: TokenPurpose; email: string; now?: Date },
): Promise<{ token: string; expiresAt: Date }> {
  const now = input.now ?? new Date();
  const token = newSecret();
  const expiresAt = new Date(now.getTime() + TOKEN_LIFETIMES_MS[input.purpose]);
  await db
    .update(accountTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(accountTokens.accountId, input.accountId),
        eq(accountTokens.purpose, input.purpose),
        isNull(accountTokens.usedAt),
      ),
    );
  await db.insert(accountTokens).values({
    tokenHash: await sha256Hex(token),
    accountId: input.accountId,
    purpose: input.purpose,
    email: input.email.toLowerCase(),
    expiresAt,
  });
  return { token, expiresAt };
}

/**
 * Uses the token once: the token's row when it exists, is of one of `purposes`, unused and unexpired; else
 * undefined (whichever the reason: the answer must not tell a guesser anything).
 */
export async function consumeToken(
  db: Pick<Database, "update">,
  token: string,
  purposes: readonly TokenPurpose[],
): Promise<AccountToken | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const [row] = await db
    .update(accountTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(accountTokens.tokenHash, await sha256Hex(token)),
        inArray(accountTokens.purpose, [...purposes]),
        isNull(accountTokens.usedAt),
        gt(accountTokens.expiresAt, sql`now()`),
      ),
    )
    .returning();
  return row;
}

/** The token's row if it could be used now, without using it (for the page that shows the link's form). */
export async function peekToken(
  db: Pick<Database, "select">,
  token: string,
  purposes: readonly TokenPurpose[],
): Promise<AccountToken | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const [row] = await db
    .select()
    .from(accountTokens)
    .where(
      and(
        eq(accountTokens.tokenHash, await sha256Hex(token)),
        inArray(accountTokens.purpose, [...purposes]),
        isNull(accountTokens.usedAt),
        gt(accountTokens.expiresAt, sql`now()`),
      ),
    )
    .limit(1);
  return row;
}

/** Every unused token of the account of these purposes stops working (after a reset, a password change). */
export async function revokeTokens(
  db: Pick<Database, "update">,
  accountId: string,
  purposes: readonly TokenPurpose[],
): Promise<void> {
  await db
    .update(accountTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(accountTokens.accountId, accountId),
        inArray(accountTokens.purpose, [...purposes]),
        isNull(accountTokens.usedAt),
      ),
    );
}
