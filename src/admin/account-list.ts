import { and, desc, eq, isNull, like, lt, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { type Account, accounts } from "../db/schema/accounts";
import { ApiError } from "../lib/errors";

interface AccountListQuery {
  /** Page size, 1..200. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Accounts whose email starts with this (case-insensitive; emails are stored lower-cased). */
  email?: string;
  tier?: string;
  /** Stripe's subscription status (active, past_due, canceled...), or "none" for accounts without one. */
  status?: string;
}

interface AccountPage {
  accounts: Account[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The cursor is opaque to clients: the last row's (createdAt, id), the list's order, base64url-encoded. */
function encodeCursor(account: Account): string {
  const bytes = new TextEncoder().encode(`${account.createdAt.toISOString()}|${account.id}`);
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const text = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const [at, id] = text.split("|");
    const createdAt = new Date(at ?? "");
    if (!id || Number.isNaN(createdAt.getTime())) throw new Error("malformed");
    return { createdAt, id };
  } catch {
    throw new ApiError("validation_failed", { detail: "cursor is not a nextCursor of this list." });
  }
}

/**
 * createdAt to the millisecond: Postgres keeps microseconds, a JavaScript Date (and so the cursor) only
 * milliseconds; ordering and comparing on the truncated value keeps rows of the same millisecond from being
 * skipped between pages.
 */
const createdAtMs = sql<Date>`date_trunc('milliseconds', ${accounts.createdAt})`;

/** LIKE pattern matching values that start with `prefix` literally (% _ \ escaped). */
const startsWith = (prefix: string) => `${prefix.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

/**
 * One page of accounts, newest first (createdAt, then id, both descending: stable under inserts), filtered
 * by email prefix, tier and subscription status. Keyset pagination: a page costs the same at any depth.
 * Throws ApiError validation_failed for a cursor that is not one this list handed out.
 */
export async function listAccounts(db: Database, query: AccountListQuery): Promise<AccountPage> {
  const filters: SQL[] = [];
  if (query.email) filters.push(like(accounts.email, startsWith(query.email.toLowerCase())));
  if (query.tier) filters.push(eq(accounts.tier, query.tier));
  if (query.status === "none") filters.push(isNull(accounts.subscriptionStatus));
  else if (query.status) filters.push(eq(accounts.subscriptionStatus, query.status));
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    const older = or(
      lt(createdAtMs, after.createdAt),
      and(eq(createdAtMs, after.createdAt), lt(accounts.id, after.id)),
    );
    if (older) filters.push(older);
  }
  const rows = await db
    .select()
    .from(accounts)
    .where(filters.length > 0 ? and(...filters) : undefined)
    .orderBy(desc(createdAtMs), desc(accounts.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { accounts: page, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}
