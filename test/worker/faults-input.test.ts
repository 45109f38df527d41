import { and, count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiKeys } from "../../src/db/schema/api-keys";
import { MAX_ACTIVE_KEYS } from "../../src/portal/services/portal-keys";
import {
  admin,
  createAccount,
  portalApi,
  portalDeveloper,
  portalForm,
  problemOf,
  uniqueEmail,
  withDatabase,
} from "./support";

/** Issue 18, items 3 and 11: whole kinds of bad input on the paths that store what they are given. */
const FORBIDDEN_NAMES = {
  NUL: "a\u0000b",
  "a line break": "a\nb",
  "a tab": "a\tb",
  DEL: "a\u007fb",
  "a C1 control": "a\u0085b",
  "an unpaired surrogate": "a\ud800b",
};

describe("control characters in stored text (issue 18.3)", () => {
  for (const [what, name] of Object.entries(FORBIDDEN_NAMES)) {
    it(`a key name with ${what} is a 400 naming the field, on the admin API and the portal API`, async () => {
      const account = await createAccount();
      const viaAdmin = await admin(`/accounts/${account.id}/keys`, { method: "POST", json: { name } });
      expect(viaAdmin.status).toBe(400);
      const problem = await problemOf(viaAdmin);
      expect(problem.type).toBe("/problems/validation-failed");
      expect(problem.errors).toContainEqual({
        path: "name",
        message: expect.stringMatching(/control characters/),
      });

      const { client } = await portalDeveloper();
      const viaPortal = await portalApi(client, "/keys", { method: "POST", json: { name } });
      expect(viaPortal.status).toBe(400);
      expect((await problemOf(viaPortal)).errors).toContainEqual({
        path: "name",
        message: expect.stringMatching(/control characters/),
      });
    });
  }

  it("the portal's key form refuses it with the form shown again, not a 500", async () => {
    const { client } = await portalDeveloper();
    await client.fetch("/portal/keys");
    const page = await portalForm(client, "/portal/keys", { name: "a\u0000b", expiresOn: "" });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("without control characters");
  });

  it("an account email with NUL is a 400 on the admin API", async () => {
    const response = await admin("/accounts", { method: "POST", json: { email: `a\u0000${uniqueEmail()}` } });
    expect(response.status).toBe(400);
  });

  it("ordinary Unicode (accents, CJK, emoji: paired surrogates) is kept as given", async () => {
    const account = await createAccount();
    const name = "clé 鍵 🔑";
    const response = await admin(`/accounts/${account.id}/keys`, { method: "POST", json: { name } });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { name: string }).name).toBe(name);
  });
});

describe("the active-key cap under concurrency (issue 18.11)", () => {
  it(`40 simultaneous creations leave exactly ${MAX_ACTIVE_KEYS} active keys; the rest are 409`, async () => {
    const { client, accountId } = await portalDeveloper();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        portalApi(client, "/keys", { method: "POST", json: { name: `key ${index}` } }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(MAX_ACTIVE_KEYS);
    expect(statuses.filter((status) => status === 409)).toHaveLength(40 - MAX_ACTIVE_KEYS);
    const [active] = await withDatabase((db) =>
      db
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.accountId, accountId), eq(apiKeys.status, "active"))),
    );
    expect(active?.n).toBe(MAX_ACTIVE_KEYS);
  });
});
