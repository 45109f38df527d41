import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/keys/key-format.ts";
import { accountWithKeys, call, type TestKey } from "./harness/client.ts";
import { openSessions, sessionsDrained } from "./harness/database.ts";
import { env } from "./harness/environment.ts";
import { measure, verify, violationMark, violationsSince } from "./harness/figures.ts";

const area = "resources: postgres sessions";
/** Requests of each kind: enough to see a leak, few enough for a shared server's 100 connections. */
const REQUESTS = 20;
/** Sessions a few requests' after-response work may still hold a moment after the last answer. */
const ALLOWANCE = 4;

let known: TestKey;
beforeAll(async () => {
  [known] = (await accountWithKeys("free")) as [TestKey];
  await sessionsDrained();
});
// The next files start from a quiet server whatever happened here.
afterAll(() => sessionsDrained());

/** Sessions held on the database shortly after the answers, compared with before. */
async function sessionsLeftBy(send: () => Promise<unknown>): Promise<{ before: number; after: number }> {
  const before = await openSessions();
  await send();
  // After-response work (waitUntil) gets a moment to end the request's pool.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { before, after: await openSessions() };
}

describe("resources: every request gives its Postgres connection back", () => {
  it(`${REQUESTS} made-up keys (well-formed, so each is looked up in Postgres) leave no sessions open`, async () => {
    const mark = violationMark();
    const { before, after } = await sessionsLeftBy(async () => {
      for (let i = 0; i < REQUESTS; i++)
        await call(env.gateways.a, "/v1/hello", { apiKey: generateApiKey("test"), area });
    });
    measure(`postgres sessions after ${REQUESTS} made-up keys`, `${before} -> ${after}`);
    verify(
      after - before <= ALLOWANCE,
      area,
      () =>
        `${after - before} Postgres sessions still open 1.5 s after ${REQUESTS} lookups of made-up keys: each ` +
        "request's pool outlives it (until the pool's idle timeout), so a client sending new well-formed keys " +
        "exhausts max_connections",
    );
    await sessionsDrained();
    expect(violationsSince(mark)).toEqual([]);
  });

  it(`${REQUESTS} admin reads leave no sessions open`, async () => {
    const mark = violationMark();
    const { before, after } = await sessionsLeftBy(async () => {
      for (let i = 0; i < REQUESTS; i++)
        await call(env.gateways.b, `/admin/v1/accounts/${known.accountId}`, { asAdmin: true, area });
    });
    measure(`postgres sessions after ${REQUESTS} admin reads`, `${before} -> ${after}`);
    verify(
      after - before <= ALLOWANCE,
      area,
      () => `${after - before} Postgres sessions still open 1.5 s after ${REQUESTS} admin reads`,
    );
    expect(violationsSince(mark)).toEqual([]);
  });
});
