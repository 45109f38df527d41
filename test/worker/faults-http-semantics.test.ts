import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  admin,
  createAccount,
  gateway,
  type PortalClient,
  portalApi,
  portalClient,
  portalDeveloper,
  problemOf,
} from "./support";

/** Issue 18, items 7 and 8: the status codes and headers HTTP defines, and the portal API from scripts. */
describe("status codes the HTTP standard defines (issue 18.8)", () => {
  it("a wrong Content-Type is 415 Unsupported Media Type (admin and portal API), as problem+json", async () => {
    const wrong = await admin("/accounts", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: '{"email":"a@example.com"}',
    });
    expect(wrong.status).toBe(415);
    const problem = await problemOf(wrong);
    expect(problem).toMatchObject({ status: 415, title: "Unsupported Media Type" });
    expect(problem.detail).toMatch(/application\/json/);

    const { client } = await portalDeveloper();
    const portal = await portalApi(client, "/keys", {
      method: "POST",
      headers: { "Content-Type": "text/xml" },
      body: "<name>x</name>",
    });
    expect(portal.status).toBe(415);
  });

  it("an unsupported method on a gateway-owned resource is 405 with Allow; an unknown path stays 404", async () => {
    const account = await createAccount();
    const cases: Array<[string, string, string]> = [
      ["PUT", "/admin/v1/accounts", "GET, HEAD, POST"],
      ["POST", `/admin/v1/accounts/${account.id}`, "GET, HEAD, PATCH"],
      ["GET", "/admin/v1/keys/key_AAAAAAAAAAAAAAAAAAAA", "DELETE"],
      ["DELETE", "/health", "GET, HEAD"],
      ["POST", "/health/ready", "GET, HEAD"],
      ["GET", "/portal/api/logout", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const response = await gateway(path, { method, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 405 });
      expect(response.headers.get("Allow")).toBe(allow);
      expect((await problemOf(response)).type).toBe("/problems/method-not-allowed");
    }
    expect(
      (await gateway("/admin/v1/nothing-here", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }))
        .status,
    ).toBe(404);
    expect((await gateway("/nowhere", { method: "PUT" })).status).toBe(404);
  });

  it("portal API 401s carry a WWW-Authenticate challenge (RFC 9110 11.6.1)", async () => {
    const anonymous = await portalClient().fetch("/portal/api/keys");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Cookie realm="portal"/);

    const client = portalClient();
    const csrf = ((await (await client.fetch("/portal/api/csrf")).json()) as { csrfToken: string }).csrfToken;
    const wrong = await client.fetch("/portal/api/login", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      json: { email: "nobody@example.com", password: "wrong password" },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("WWW-Authenticate")).toMatch(/^Cookie realm="portal"/);
  });
});

/** A script's call: the session cookie and (optionally) X-CSRF-Token; no Origin, no Content-Type, no body. */
function scriptCall(client: PortalClient, method: string, path: string, token?: string) {
  const headers = new Headers({
    "CF-Connecting-IP": client.ip,
    Cookie: `__Host-gw_session=${client.cookie("__Host-gw_session")}`,
  });
  if (token !== undefined) headers.set("X-CSRF-Token", token);
  return gateway(path, { method, headers });
}

describe("the portal JSON API from scripts (issue 18.7)", () => {
  it("bodyless DELETE key, logout and billing-portal calls with a valid X-CSRF-Token are not refused as forms", async () => {
    const { client } = await portalDeveloper();
    const created = await portalApi(client, "/keys", { method: "POST", json: { name: "script" } });
    const { id } = (await created.json()) as { id: string };

    const revoked = await scriptCall(client, "DELETE", `/portal/api/keys/${id}`, client.csrf);
    expect(revoked.status).toBe(204);
    const billing = await scriptCall(client, "POST", "/portal/api/billing/portal", client.csrf);
    expect(billing.status).not.toBe(403);
    const logout = await scriptCall(client, "POST", "/portal/api/logout", client.csrf);
    expect(logout.status).toBeLessThan(300);
  });

  it("without the token the refusal says why", async () => {
    const { client } = await portalDeveloper();
    const refused = await scriptCall(client, "POST", "/portal/api/logout");
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).detail).toMatch(/X-CSRF-Token/);
    const forged = await scriptCall(client, "POST", "/portal/api/logout", "forged-token");
    expect(forged.status).toBe(403);
    expect((await problemOf(forged)).detail).toMatch(/CSRF token/);
  });
});
