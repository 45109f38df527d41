import { describe, expect, it } from "vitest";
import { hashApiKey } from "../../src/keys/key-format";
import {
  ADMIN_TOKEN,
  admin,
  createAccount,
  createKey,
  gateway,
  gatewayWith,
  problemOf,
  redis,
  uniqueEmail,
} from "./support";

describe("admin API: happy paths", () => {
  it("creates an account (free by default), reads it and changes its tier", async () => {
    const email = uniqueEmail().toUpperCase();
    const created = await admin("/accounts", { method: "POST", json: { email } });
    expect(created.status).toBe(201);
    const account = (await created.json()) as { id: string; email: string; tier: string };
    expect(account).toMatchObject({ email: email.toLowerCase(), tier: "free" });
    expect(account.id).toMatch(/^acct_[0-9A-Za-z]{20}$/);

    const read = await admin(`/accounts/${account.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: account.id, tier: "free" });

    const patched = await admin(`/accounts/${account.id}`, { method: "PATCH", json: { tier: "pro" } });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id: account.id, tier: "pro" });
    // The edge reads the tier from Redis: the change is published there at once.
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ id: account.id, tier: "pro" });
  });

  it("issues a key shown once, lists keys without secrets, and stores only the hash", async () => {
    const account = await createAccount();
    const response = await admin(`/accounts/${account.id}/keys`, { method: "POST", json: { name: "ci" } });
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const issued = (await response.json()) as { id: string; key: string; start: string; status: string };
    expect(issued.key).toMatch(/^gw_test_[0-9A-Za-z]{38}$/);
    expect(issued.start).toBe(issued.key.slice(0, 12));
    expect(issued.status).toBe("active");

    const list = await admin(`/accounts/${account.id}/keys`);
    const listed = (await list.json()) as { keys: Array<Record<string, unknown>> };
    expect(listed.keys).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(issued.key);
    expect(listed.keys[0]).toMatchObject({ id: issued.id, name: "ci", status: "active" });
    expect(listed.keys[0]).not.toHaveProperty("hash");

    const cached = await redis.get<Record<string, unknown>>(`gw:key:${await hashApiKey(issued.key)}`);
    expect(cached).toMatchObject({ kind: "key", id: issued.id, accountId: account.id, status: "active" });
  });

  it("revokes a key with 204, idempotently", async () => {
    const account = await createAccount();
    const key = await createKey(account.id);
    expect((await admin(`/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await admin(`/keys/${key.id}`, { method: "DELETE" })).status).toBe(204);
    const listed = (await (await admin(`/accounts/${account.id}/keys`)).json()) as {
      keys: Array<{ status: string }>;
    };
    expect(listed.keys[0]?.status).toBe("revoked");
  });

  it("serves its own OpenAPI document behind the admin token", async () => {
    const response = await admin("/openapi.json");
    expect(response.status).toBe(200);
    const document = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/accounts", "/accounts/{id}", "/accounts/{id}/keys", "/keys/{id}"]),
    );
  });
});

describe("admin API: errors", () => {
  it("refuses a duplicate email with 409", async () => {
    const email = uniqueEmail();
    expect((await admin("/accounts", { method: "POST", json: { email } })).status).toBe(201);
    const again = await admin("/accounts", { method: "POST", json: { email: email.toUpperCase() } });
    expect(again.status).toBe(409);
    expect(await problemOf(again)).toMatchObject({ type: "/problems/conflict", status: 409 });
  });

  it("validates bodies with a 400 listing the fields", async () => {
    const response = await admin("/accounts", {
      method: "POST",
      json: { email: "not-an-email", tier: "gold" },
    });
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem.type).toBe("/problems/validation-failed");
    const paths = (problem.errors as Array<{ path: string }>).map((error) => error.path);
    expect(paths).toEqual(expect.arrayContaining(["email", "tier"]));
  });

  it("answers malformed JSON with 400 problem+json", async () => {
    const response = await admin("/accounts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect((await problemOf(response)).requestId).toBe(response.headers.get("X-Request-Id"));
  });

  it("refuses an expiry in the past", async () => {
    const account = await createAccount();
    const response = await admin(`/accounts/${account.id}/keys`, {
      method: "POST",
      json: { expiresAt: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(response.status).toBe(400);
  });

  it("answers 404 for unknown accounts and keys", async () => {
    expect((await admin("/accounts/acct_doesnotexist0000000")).status).toBe(404);
    expect(
      (await admin("/accounts/acct_doesnotexist0000000/keys", { method: "POST", json: {} })).status,
    ).toBe(404);
    expect((await admin("/keys/key_doesnotexist00000000", { method: "DELETE" })).status).toBe(404);
  });
});

describe("admin API: security", () => {
  it("refuses a missing or wrong token with 401 and no CORS headers", async () => {
    const missing = await gateway("/admin/v1/accounts", {
      method: "POST",
      headers: { Origin: "https://evil.example", "Content-Type": "application/json" },
      body: JSON.stringify({ email: uniqueEmail() }),
    });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("WWW-Authenticate")).toContain("Bearer");
    expect(missing.headers.get("Access-Control-Allow-Origin")).toBeNull();

    const wrong = await gateway("/admin/v1/accounts/acct_x", {
      headers: { Authorization: "Bearer wrong-token-value" },
    });
    expect(wrong.status).toBe(401);
    expect(await problemOf(wrong)).toMatchObject({ type: "/problems/unauthorized" });
  });

  it("refuses an API key as admin credentials", async () => {
    const account = await createAccount();
    const key = await createKey(account.id);
    const response = await gateway(`/admin/v1/accounts/${account.id}`, {
      headers: { Authorization: `Bearer ${key.key}` },
    });
    expect(response.status).toBe(401);
  });
});

describe("admin API: hostile ids and outages", () => {
  it("refuses ids that cannot be ours (NUL bytes, junk) with 400 before any query", async () => {
    for (const id of ["%00", "acct_%00", "..%2F..%2Fetc", "acct_x'or'1'='1", "x".repeat(300)]) {
      const response = await admin(`/accounts/${id}`);
      expect(response.status, id).toBe(400);
      expect((await problemOf(response)).type).toBe("/problems/validation-failed");
    }
    expect((await admin("/keys/%00", { method: "DELETE" })).status).toBe(400);
  });

  it("answers 503 problem+json with Retry-After when Postgres is unreachable, and changes nothing", async () => {
    const down = { DATABASE_URL: "postgres://nobody@127.0.0.1:9/none" };
    const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" };
    const email = uniqueEmail();
    const response = await gatewayWith(down, "/admin/v1/accounts", {
      method: "POST",
      headers,
      body: JSON.stringify({ email }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    const problem = await problemOf(response);
    expect(problem.type).toBe("/problems/unavailable");
    expect(JSON.stringify(problem)).not.toContain(ADMIN_TOKEN);
    // Nothing was created: the same email is still free.
    expect((await admin("/accounts", { method: "POST", json: { email } })).status).toBe(201);
  });
});
