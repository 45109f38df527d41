import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { accountWithKeys, type TestKey } from "./harness/client.ts";
import { measure, violation, violationMark, violationsSince } from "./harness/figures.ts";
import { fuzz } from "./harness/fuzz.ts";
import { hostHeader, sendRaw, target } from "./harness/hostile.ts";
import { auditMark, auditOrigin } from "./harness/origin-audit.ts";

let fuzzer: TestKey;
beforeAll(async () => {
  // Pro: 6,000 a minute, bursts of 1,000; the fuzzing never nears a limit.
  [fuzzer] = (await accountWithKeys("pro")) as [TestKey];
});

describe("hostile input: paths and query strings", () => {
  it("no 500, no stack trace, nothing but the origin under /v1 reached, no injected header (raw bytes)", async () => {
    const mark = violationMark();
    const origin = await auditMark();
    const closedByParser: string[] = [];
    const statuses: Record<number, number> = {};
    await fuzz(
      "paths and queries",
      fc.record({
        target,
        host: hostHeader,
        method: fc.constantFrom("GET", "GET", "POST", "DELETE", "HEAD"),
      }),
      async (input) => {
        const headers: Array<[string, string]> = [];
        if (input.host !== "") headers.push(["Host", input.host]);
        headers.push(["X-API-Key", fuzzer.key], ["Content-Length", "0"], ["Connection", "close"]);
        const { broken, observed } = await sendRaw({ method: input.method, target: input.target, headers });
        if (!observed && broken.length === 0) closedByParser.push(input.target);
        if (observed) statuses[observed.status] = (statuses[observed.status] ?? 0) + 1;
        return broken;
      },
      { numRuns: 500 },
    );
    const audit = await auditOrigin(origin, { accountId: fuzzer.accountId, keyId: fuzzer.keyId });
    for (const broken of audit.broken) violation("hostile input: paths (origin)", broken);
    measure("paths: answers by status", JSON.stringify(statuses));
    measure("paths: requests that reached the origin", audit.records);
    measure("paths: connections closed by the HTTP parser without an answer", closedByParser.length);
    measure(
      "paths: forwarded paths an origin decoding %2F/%5C would resolve outside /v1",
      `${audit.decodedEscapes.length}${audit.decodedEscapes[0] ? `, e.g. ${audit.decodedEscapes[0]}` : ""}`,
    );
    expect(violationsSince(mark)).toEqual([]);
  });
});
