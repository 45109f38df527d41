import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountWithKeys, call, type TestKey } from "./harness/client.ts";
import { sessionsDrained } from "./harness/database.ts";
import { env } from "./harness/environment.ts";
import { verify, violationMark, violationsSince } from "./harness/figures.ts";
import { fuzz } from "./harness/fuzz.ts";
import { header, type Observed } from "./harness/observed.ts";

const { a } = env.gateways;
const area = "hostile input: admin API";
let target: TestKey;
beforeAll(async () => {
  [target] = (await accountWithKeys("free")) as [TestKey];
  await sessionsDrained();
});
// Admin reads hold Postgres sessions for a while (see 10-postgres-sessions): let them go before the next file.
afterAll(() => sessionsDrained());

/** Admin routes that take a JSON body, with a real account or key in the path. */
const jsonRoutes = () => [
  { method: "POST", path: "/admin/v1/accounts" },
  { method: "PATCH", path: `/admin/v1/accounts/${target.accountId}` },
  { method: "POST", path: `/admin/v1/accounts/${target.accountId}/keys` },
  { method: "POST", path: `/admin/v1/keys/${target.keyId}/rotate` },
];

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Text that is not JSON: random strings, and the near misses a parser might half-accept. */
const malformedJson = fc
  .oneof(
    fc.string({ maxLength: 200 }),
    fc.constantFrom(
      '{"email":',
      '{"email":"a@example.com",}',
      "{'email':'a@example.com'}",
      '\uFEFF{"email":"a@example.com"}x',
      '{"email":"a@example.com"}{"tier":"pro"}',
      "NaN",
      '{"tier":"pro"',
      `${"[".repeat(5000)}`,
      `${'{"a":'.repeat(2000)}1${"}".repeat(1999)}`,
      '{"email":"\\ud800"}x',
      "\u0000",
    ),
    fc.jsonValue().map((value) => `${JSON.stringify(value)},`),
  )
  .filter((text) => !isJson(text));

function problemWith(observed: Observed, statuses: number[]): boolean {
  return (
    statuses.includes(observed.status) && header(observed, "content-type") === "application/problem+json"
  );
}

describe("hostile input: the admin API", () => {
  it("malformed JSON on every JSON route: 400 problem+json", async () => {
    const mark = violationMark();
    await fuzz(
      "admin: malformed JSON",
      fc.tuple(fc.nat(3), malformedJson),
      async ([route, body]) => {
        const { method, path } = jsonRoutes()[route] as { method: string; path: string };
        const answer = await call(a, path, {
          method,
          asAdmin: true,
          headers: { "Content-Type": "application/json" },
          body,
          area,
        });
        return problemWith(answer, [400])
          ? []
          : [`${method} ${path}: ${answer.status} ${answer.text.slice(0, 120)}`];
      },
      { numRuns: 300 },
    );
    expect(violationsSince(mark)).toEqual([]);
  });

  it("JSON of the wrong shape and odd content types: 4xx problem+json (or the documented success), never 500", async () => {
    const mark = violationMark();
    const contentType = fc.constantFrom(
      "application/json",
      "application/json; charset=utf-16",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    );
    await fuzz(
      "admin: wrong shapes",
      fc.tuple(fc.nat(3), fc.jsonValue({ maxDepth: 3 }), contentType),
      async ([route, value, type]) => {
        const { method, path } = jsonRoutes()[route] as { method: string; path: string };
        const headers: Record<string, string> = type ? { "Content-Type": type } : {};
        const answer = await call(a, path, {
          method,
          asAdmin: true,
          headers,
          body: JSON.stringify(value),
          area,
        });
        // An empty object is a valid key request (every field optional), a tier a valid PATCH...
        if (answer.status === 200 || answer.status === 201) return [];
        return problemWith(answer, [400, 404, 409, 415])
          ? []
          : [`${method} ${path} ${type}: ${answer.status} ${answer.text.slice(0, 120)}`];
      },
      { numRuns: 300 },
    );
    expect(violationsSince(mark)).toEqual([]);
  });

  it("made-up and hostile ids and query strings: 400/404 problem+json", async () => {
    const mark = violationMark();
    await sessionsDrained();
    // NUL is left to the test below, so the fuzzing keeps looking for other failures.
    const withoutNul = (text: string) => !text.includes("%00") && !text.includes("\u0000");
    const anyId = fc.oneof(
      fc.string({ maxLength: 40 }).map((text) => encodeURIComponent(text)),
      fc
        .constantFrom("acct_", "key_")
        .chain((prefix) => fc.stringMatching(/^[A-Za-z0-9]{0,30}$/).map((rest) => `${prefix}${rest}`)),
      fc.constantFrom("..%2f..%2fhealth", "acct_%27%20OR%201%3D1--", "key_*", "x".repeat(2000), "%E2%80%AE"),
    );
    const id = anyId.filter(withoutNul);
    const query = fc.constantFrom(
      "",
      "?from=garbage",
      "?from=2026-13-45&to=1",
      "?limit=-1",
      "?before=x",
      "?limit=99999999999999999999",
    );
    const routes: Array<[string, (x: string) => string]> = [
      ["GET", (x) => `/admin/v1/accounts/${x}`],
      ["GET", (x) => `/admin/v1/accounts/${x}/keys`],
      ["GET", (x) => `/admin/v1/accounts/${x}/usage`],
      ["GET", (x) => `/admin/v1/accounts/${x}/events`],
      ["DELETE", (x) => `/admin/v1/keys/${x}`],
      ["POST", (x) => `/admin/v1/keys/${x}/rotate`],
    ];
    const route = fc.constantFrom(...routes);
    await fuzz(
      "admin: ids and queries",
      fc.tuple(route, id, query),
      async ([[method, path], value, search]) => {
        const answer = await call(a, `${path(value)}${search}`, { method, asAdmin: true, area });
        return problemWith(answer, [400, 404, 405, 414]) || answer.status === 431
          ? []
          : [`${method} ${path(value).slice(0, 80)}${search}: ${answer.status} ${answer.text.slice(0, 120)}`];
      },
      // Each input is a Postgres read: kept under what a shared server's 100 connections take.
      { numRuns: 60 },
    );
    expect(violationsSince(mark)).toEqual([]);
  });

  it("an id with a NUL byte (%00) is refused with 400/404 problem+json on every route, not a 500 from Postgres", async () => {
    const mark = violationMark();
    for (const [method, path] of [
      ["GET", "/admin/v1/accounts/%00"],
      ["GET", "/admin/v1/accounts/acct_%00/keys"],
      ["GET", "/admin/v1/accounts/%00/usage"],
      ["GET", "/admin/v1/accounts/%00/events"],
      ["PATCH", "/admin/v1/accounts/%00"],
      ["POST", "/admin/v1/accounts/%00/keys"],
      ["DELETE", "/admin/v1/keys/key_%00"],
      ["POST", "/admin/v1/keys/%00/rotate"],
    ] as const) {
      const json = method === "PATCH" ? { tier: "pro" } : method === "POST" ? {} : undefined;
      const answer = await call(a, path, { method, asAdmin: true, json, area });
      verify(
        problemWith(answer, [400, 404]),
        area,
        () => `${method} ${path}: ${answer.status}, want 400/404`,
      );
    }
    expect(violationsSince(mark)).toEqual([]);
  });

  it("a body over MAX_BODY_BYTES to the admin API is refused, not buffered", async () => {
    const mark = violationMark();
    const body = JSON.stringify({ email: `${"a".repeat(env.settings.maxBodyBytes)}@example.com` });
    const answer = await call(a, "/admin/v1/accounts", {
      method: "POST",
      asAdmin: true,
      headers: { "Content-Type": "application/json" },
      body,
      area,
    });
    verify([400, 413].includes(answer.status), area, () => `${answer.status} for an oversized admin body`);
    expect(violationsSince(mark)).toEqual([]);
  });
});
