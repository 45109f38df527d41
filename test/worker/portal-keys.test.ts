import { describe, expect, it } from "vitest";
import { MAX_ACTIVE_KEYS } from "../../src/portal/services/portal-keys";
import {
  createKey,
  gateway,
  gatewayWith,
  portalApi,
  portalDeveloper,
  portalForm,
  problemOf,
  settleBackground,
  withDatabase,
  withKey,
} from "./support";

interface CreatedKey {
  id: string;
  key: string;
  name: string;
  start: string;
  status: string;
  curl: string;
  expiresAt: string | null;
}

async function createPortalKey(client: Awaited<ReturnType<typeof portalDeveloper>>["client"], body: object) {
  const response = await portalApi(client, "/keys", { method: "POST", json: body });
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedKey;
}

const hello = (key: string) => gateway("/v1/hello", withKey(key));

describe("portal keys: JSON API", () => {
  it("creates (shown once, with a curl line), lists, rotates with overlap, revokes; the edge follows", async () => {
    const { client, accountId } = await portalDeveloper();
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const response = await portalApi(client, "/keys", {
      method: "POST",
      json: { name: "laptop", expiresAt },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const created = (await response.json()) as CreatedKey;
    expect(created.key).toMatch(/^gw_test_[0-9A-Za-z]{38}$/);
    expect(created).toMatchObject({ name: "laptop", status: "active", start: created.key.slice(0, 12) });
    expect(Date.parse(created.expiresAt as string)).toBe(Date.parse(expiresAt));
    // The first GET of the demo origin's own document, with the key filled in.
    expect(created.curl).toBe(`curl 'http://gateway.test/v1/hello' \\\n  -H 'X-API-Key: ${created.key}'`);
    expect(created).not.toHaveProperty("accountId");
    // A call as clients make it; its last-used time is written after the response.
    expect((await gatewayWith({}, "/v1/hello", withKey(created.key), { background: "keep" })).status).toBe(
      200,
    );
    await settleBackground();

    const listed = (await (await portalApi(client, "/keys")).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    expect(listed.keys).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(listed.keys[0]).toMatchObject({ id: created.id, name: "laptop", status: "active" });
    expect(listed.keys[0]?.lastUsedAt).not.toBeNull();

    const rotatedResponse = await portalApi(client, `/keys/${created.id}/rotate`, {
      method: "POST",
      json: { overlapHours: 24 },
    });
    expect(rotatedResponse.status).toBe(201);
    const rotated = (await rotatedResponse.json()) as CreatedKey & { previous: CreatedKey };
    expect(rotated.key).not.toBe(created.key);
    expect(rotated.previous.id).toBe(created.id);
    const overlapEnd = Date.parse(rotated.previous.expiresAt as string);
    expect(overlapEnd).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(overlapEnd).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000);
    expect((await hello(created.key)).status).toBe(200);
    expect((await hello(rotated.key)).status).toBe(200);
    // A key already rotating cannot be rotated again.
    expect((await portalApi(client, `/keys/${created.id}/rotate`, { method: "POST" })).status).toBe(409);

    expect((await portalApi(client, `/keys/${rotated.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await hello(rotated.key)).status).toBe(403);
    const after = (await (await portalApi(client, "/keys")).json()) as {
      keys: Array<{ id: string; status: string }>;
    };
    expect(after.keys.find((key) => key.id === rotated.id)?.status).toBe("revoked");

    // Every change is in the audit log, done by this developer through the portal.
    const events = await withDatabase((db) =>
      db.execute<{ actor_type: string; actor_id: string; action: string }>(
        `select actor_type, actor_id, action from audit_events where account_id = '${accountId}' and action like 'key.%' order by id`,
      ),
    );
    expect(events.rows).toEqual(
      ["key.created", "key.rotated", "key.revoked"].map((action) => ({
        actor_type: "portal",
        actor_id: accountId,
        action,
      })),
    );
  });

  it("validates names and expiry with 400 problems", async () => {
    const { client } = await portalDeveloper();
    const empty = await portalApi(client, "/keys", { method: "POST", json: { name: "" } });
    expect(empty.status).toBe(400);
    const past = await portalApi(client, "/keys", {
      method: "POST",
      json: { name: "old", expiresAt: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(past.status).toBe(400);
    expect(await problemOf(past)).toMatchObject({ type: "/problems/validation-failed" });
    const extra = await portalApi(client, "/keys", {
      method: "POST",
      json: { name: "x", accountId: "acct_other" },
    });
    expect(extra.status).toBe(400);
  });

  it(`allows at most ${MAX_ACTIVE_KEYS} active keys`, async () => {
    const { client } = await portalDeveloper();
    for (let i = 0; i < MAX_ACTIVE_KEYS; i++) await createPortalKey(client, { name: `k${i}` });
    const refused = await portalApi(client, "/keys", { method: "POST", json: { name: "one too many" } });
    expect(refused.status).toBe(409);
  });
});

describe("portal keys: pages", () => {
  it("creates a key with a form and shows it once with a copy button and a curl line", async () => {
    const { client } = await portalDeveloper();
    const page = await portalForm(client, "/portal/keys", { name: "from the form", expiresOn: "" });
    expect(page.status).toBe(201);
    expect(page.headers.get("Cache-Control")).toBe("no-store");
    const html = await page.text();
    const key = /<code id="new-key">(gw_test_[0-9A-Za-z]{38})<\/code>/.exec(html)?.[1] as string;
    expect(key).toBeDefined();
    expect(html).toContain('data-copy="new-key"');
    expect(html).toContain(
      `curl &#39;http://gateway.test/v1/hello&#39; \\\n  -H &#39;X-API-Key: ${key}&#39;`,
    );
    expect(html).toContain(`headers={&quot;X-API-Key&quot;: &quot;${key}&quot;}`);
    expect(html).toContain(`fetch(&quot;http://gateway.test/v1/hello&quot;`);
    expect((await hello(key)).status).toBe(200);

    const list = await (await client.fetch("/portal/keys")).text();
    expect(list).toContain("from the form");
    expect(list).toContain(key.slice(0, 12));
    expect(list).not.toContain(key);
  });

  it("re-renders the form with the field's error for bad input", async () => {
    const { client } = await portalDeveloper();
    const page = await portalForm(client, "/portal/keys", { name: "", expiresOn: "2001-01-01" });
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain('id="name-error"');
    expect(html).toContain('id="expiresOn-error"');
  });

  it("rotates after choosing the overlap, and revokes after a confirmation page", async () => {
    const { client } = await portalDeveloper();
    const created = await createPortalKey(client, { name: "web" });

    const confirmRotate = await client.fetch(`/portal/keys/${created.id}/rotate`);
    expect(confirmRotate.status).toBe(200);
    expect(await confirmRotate.text()).toContain('name="overlapHours"');
    const rotatedPage = await portalForm(client, `/portal/keys/${created.id}/rotate`, { overlapHours: "1" });
    expect(rotatedPage.status).toBe(201);
    const rotatedHtml = await rotatedPage.text();
    const successor = /<code id="new-key">(gw_test_[0-9A-Za-z]{38})<\/code>/.exec(rotatedHtml)?.[1] as string;
    expect(successor).toBeDefined();
    expect(rotatedHtml).toContain("keeps working until");
    expect((await hello(created.key)).status).toBe(200);

    const confirmRevoke = await client.fetch(`/portal/keys/${created.id}/revoke`);
    expect(confirmRevoke.status).toBe(200);
    expect(await confirmRevoke.text()).toContain("This cannot be undone");
    // Nothing is revoked by looking at the confirmation page.
    expect((await hello(created.key)).status).toBe(200);
    const revoked = await portalForm(client, `/portal/keys/${created.id}/revoke`, {});
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get("Location")).toBe("/portal/keys?notice=revoked");
    expect((await hello(created.key)).status).toBe(403);
    expect((await hello(successor)).status).toBe(200);
    expect(await (await client.fetch("/portal/keys?notice=revoked")).text()).toContain("Key revoked");
  });
});

describe("portal keys: one developer never reaches another's", () => {
  it("answers 404 to every operation on another developer's key, by API and by page", async () => {
    const first = await portalDeveloper();
    const second = await portalDeveloper();
    const key = await createPortalKey(first.client, { name: "first's" });
    // A key made by the admin API for an account the second developer does not own either.
    const adminKey = await createKey(first.accountId, { name: "admin-made" });

    const secondList = (await (await portalApi(second.client, "/keys")).json()) as { keys: unknown[] };
    expect(secondList.keys).toEqual([]);
    const secondPage = await (await second.client.fetch("/portal/keys")).text();
    expect(secondPage).not.toContain(key.start);
    expect(secondPage).not.toContain("first&#39;s");

    for (const id of [key.id, adminKey.id, "key_doesnotexist00000000"]) {
      const rotate = await portalApi(second.client, `/keys/${id}/rotate`, { method: "POST" });
      expect(rotate.status).toBe(404);
      expect((await portalApi(second.client, `/keys/${id}`, { method: "DELETE" })).status).toBe(404);
      expect((await portalApi(second.client, `/usage?keyId=${id}`)).status).toBe(404);
      expect((await second.client.fetch(`/portal/keys/${id}/revoke`)).status).toBe(404);
      expect((await second.client.fetch(`/portal/keys/${id}/rotate`)).status).toBe(404);
      expect((await portalForm(second.client, `/portal/keys/${id}/revoke`, {})).status).toBe(404);
      expect(
        (await portalForm(second.client, `/portal/keys/${id}/rotate`, { overlapHours: "0" })).status,
      ).toBe(404);
      expect((await second.client.fetch(`/portal/usage?key=${id}`)).status).toBe(404);
    }
    // The guessed ids and the unknown id answer the same; the first developer's keys still work.
    const unknown = await problemOf(
      await portalApi(second.client, "/keys/key_doesnotexist00000000", { method: "DELETE" }),
    );
    const guessed = await problemOf(await portalApi(second.client, `/keys/${key.id}`, { method: "DELETE" }));
    expect(guessed.detail).toBe(unknown.detail);
    expect((await hello(key.key)).status).toBe(200);
    expect((await hello(adminKey.key)).status).toBe(200);
    const firstList = (await (await portalApi(first.client, "/keys")).json()) as {
      keys: Array<{ status: string }>;
    };
    expect(firstList.keys.map((item) => item.status)).toEqual(["active", "active"]);
  });
});
