import { describe, expect, it } from "vitest";
import { admin, createKey, gateway, problemOf, withKey } from "./support";

type Account = { id: string; email: string; tier: string; subscriptionStatus: string | null };
type Page = { accounts: Account[]; nextCursor: string | null };

/** A prefix no other test's email has, so the list is exactly this test's accounts. */
const prefix = () => `list${Date.now()}${Math.floor(Math.random() * 1e6)}-`;

async function createAccounts(emailPrefix: string, tiers: string[]): Promise<Account[]> {
  const created: Account[] = [];
  for (const [index, tier] of tiers.entries()) {
    const response = await admin("/accounts", {
      method: "POST",
      json: { email: `${emailPrefix}${index}@example.com`, tier },
    });
    expect(response.status).toBe(201);
    created.push((await response.json()) as Account);
  }
  return created;
}

async function list(query: string): Promise<Page> {
  const response = await admin(`/accounts?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

describe("admin API: listing accounts", () => {
  it("pages through every match exactly once, newest first, by email prefix", async () => {
    const emailPrefix = prefix();
    const created = await createAccounts(emailPrefix, ["free", "free", "pro", "free", "basic"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(
        `email=${encodeURIComponent(emailPrefix.toUpperCase())}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.accounts.length).toBeLessThanOrEqual(2);
      seen.push(...page.accounts.map((account) => account.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((account) => account.id).reverse());
  });

  it("filters by tier and by subscription status (none: no subscription)", async () => {
    const emailPrefix = prefix();
    const [, pro] = await createAccounts(emailPrefix, ["free", "pro"]);
    const byTier = await list(`email=${emailPrefix}&tier=pro`);
    expect(byTier.accounts.map((account) => account.id)).toEqual([pro?.id]);
    expect(byTier.nextCursor).toBeNull();
    expect((await list(`email=${emailPrefix}&status=none`)).accounts).toHaveLength(2);
    expect((await list(`email=${emailPrefix}&status=active`)).accounts).toHaveLength(0);
  });

  it("treats LIKE's wildcards in the email prefix literally", async () => {
    const emailPrefix = prefix();
    await createAccounts(emailPrefix, ["free"]);
    expect((await list(`email=${encodeURIComponent(`${emailPrefix.slice(0, -1)}%`)}`)).accounts).toHaveLength(
      0,
    );
    expect(
      (await list(`email=${encodeURIComponent(`${emailPrefix.slice(0, -2)}_-`)}`)).accounts,
    ).toHaveLength(0);
  });

  it("refuses a forged cursor, a bad tier and a limit out of range with 400 problems", async () => {
    for (const query of [
      "cursor=not-a-cursor",
      "tier=platinum",
      "limit=0",
      "limit=201",
      "status=DROP%20TABLE",
    ]) {
      const response = await admin(`/accounts?${query}`);
      expect(response.status, query).toBe(400);
      expect((await problemOf(response)).type).toBe("/problems/validation-failed");
    }
  });

  it("needs the admin token", async () => {
    expect((await gateway("/admin/v1/accounts")).status).toBe(401);
  });
});

describe("admin API: reading one account", () => {
  it("shows its keys (never secrets), this month's usage and its subscription", async () => {
    const [account] = await createAccounts(prefix(), ["basic"]);
    const id = account?.id as string;
    const issued = await createKey(id, { name: "reader" });
    expect((await gateway("/v1/hello", withKey(issued.key))).status).toBe(200);

    const response = await admin(`/accounts/${id}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      tier: string;
      keys: Array<{ id: string; name: string; status: string }>;
      usage: { used: number; limit: number; month: string };
      subscription: { status: string | null; stripeCustomerId: string | null };
    };
    expect(body.tier).toBe("basic");
    expect(body.keys).toEqual([expect.objectContaining({ id: issued.id, name: "reader", status: "active" })]);
    expect(JSON.stringify(body)).not.toContain(issued.key);
    expect(body.usage.used).toBeGreaterThanOrEqual(1);
    expect(body.usage.limit).toBeGreaterThan(body.usage.used);
    expect(body.usage.month).toMatch(/^\d{4}-\d{2}$/);
    expect(body.subscription).toEqual({
      status: null,
      subscribedTier: null,
      stripeCustomerId: null,
      stripeSubscriptionId: null,
      pastDueSince: null,
      scheduledTier: null,
      scheduledChangeAt: null,
    });
  });
});
