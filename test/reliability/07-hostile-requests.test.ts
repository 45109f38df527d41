import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/keys/key-format.ts";
import { accountWithKeys, type TestKey } from "./harness/client.ts";
import { env } from "./harness/environment.ts";
import { measure, violation, violationMark, violationsSince } from "./harness/figures.ts";
import { fuzz } from "./harness/fuzz.ts";
import { CRLF_PAYLOADS, DECOY, gatewayHost, sendRaw } from "./harness/hostile.ts";
import { fromOrigin } from "./harness/observed.ts";
import { auditMark, auditOrigin } from "./harness/origin-audit.ts";

let fuzzer: TestKey;
let other: TestKey;
beforeAll(async () => {
  [fuzzer] = (await accountWithKeys("pro")) as [TestKey];
  [other] = (await accountWithKeys("pro")) as [TestKey];
});

const identity = () => ({ accountId: fuzzer.accountId, keyId: fuzzer.keyId });
const base = (extra: Array<[string, string]> = []): Array<[string, string]> => [
  ["Host", gatewayHost],
  ["X-API-Key", fuzzer.key],
  ...extra,
  ["Connection", "close"],
];
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

/** Headers that decide routing, identity, framing or forwarding somewhere along the way. */
const SENSITIVE_HEADERS = [
  "X-Gateway-Account",
  "X-Gateway-Key-Id",
  "X-Gateway-Tier",
  "X-Gateway-Signature",
  "X-Forwarded-For",
  "X-Forwarded-Host",
  "X-Forwarded-Proto",
  "Forwarded",
  "X-Real-IP",
  "X-Request-Id",
  "CF-Connecting-IP",
  "CF-Worker",
  "X-Original-URL",
  "X-Rewrite-URL",
  "X-HTTP-Method-Override",
  "Connection",
  "Upgrade",
  "TE",
  "Proxy-Authorization",
  "Cookie",
  "Authorization",
  "Origin",
  "Referer",
];
// Values meant to break out of their header line, or to name another identity or host.
const headerValue = fc.oneof(
  printable,
  fc.constantFrom(
    "a\rX-Injected: 1",
    // workerd, as RFC 9112 allows, takes a bare LF as a line end: this is the client's own second header.
    "a\nX-Bare-Lf: 1",
    "a\r\n X-Injected: 1",
    "a\r\n\tX-Injected: 1",
    "a\u0000X-Injected: 1",
    ...CRLF_PAYLOADS,
    `http://${DECOY}/`,
    DECOY,
    "keep-alive, X-API-Key, X-Gateway-Account",
    "close, Host",
    "websocket",
    "gw_session=stolen; other=1",
    "x".repeat(9000),
  ),
  fc.constantFrom("acct_", "key_").map((prefix) => `${prefix}${"A".repeat(20)}`),
);
const headerName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SENSITIVE_HEADERS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/) },
);

describe("hostile input: headers, methods, keys, bodies", () => {
  it("headers: spoofed identity and forwarding headers, CR/LF in values: identity at the origin stays the key's own, nothing injected", async () => {
    const mark = violationMark();
    const origin = await auditMark();
    await fuzz(
      "headers",
      fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 6 }),
      async (headers) =>
        (await sendRaw({ method: "GET", target: "/v1/echo", headers: base(headers) })).broken,
      { numRuns: 400 },
    );
    const audit = await auditOrigin(origin, identity());
    for (const broken of audit.broken) violation("hostile input: headers (origin)", broken);
    measure("headers: requests that reached the origin", audit.records);
    expect(violationsSince(mark)).toEqual([]);
  });

  it("methods: standard, odd and malformed ones never make a 500", async () => {
    const mark = violationMark();
    const origin = await auditMark();
    const method = fc.oneof(
      // Not CONNECT: workerd hands it to the worker's connect() handler (see the CONNECT test below).
      fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"),
      fc.constantFrom("get", "Post", "M-SEARCH", "X".repeat(200)),
      fc.stringMatching(/^[A-Z]{1,12}$/),
    );
    await fuzz(
      "methods",
      fc.tuple(method, fc.constantFrom("/v1/echo", "/v1/hello", "/admin/v1/accounts", "/health", "/docs")),
      async ([name, path]) =>
        (await sendRaw({ method: name, target: path, headers: base([["Content-Length", "0"]]) })).broken,
      { numRuns: 200 },
    );
    const audit = await auditOrigin(origin, identity());
    for (const broken of audit.broken) violation("hostile input: methods (origin)", broken);
    expect(violationsSince(mark)).toEqual([]);
  });

  it("CONNECT never reaches the worker (workerd hands it to a connect() handler, which the gateway does not export)", async () => {
    const origin = await auditMark();
    const { observed } = await sendRaw({
      method: "CONNECT",
      target: "/v1/echo",
      headers: base([["Content-Length", "0"]]),
    });
    measure("CONNECT /v1/echo answered by the runtime", `${observed?.status} ${observed?.text.slice(0, 60)}`);
    expect(observed?.headers.some(([name]) => name === "x-request-id")).toBe(false);
    expect((await auditOrigin(origin, () => undefined)).records).toBe(0);
  });

  it("keys: made-up, mangled and other environments' keys are refused with 400/401/403 and never reach the origin", async () => {
    const mark = violationMark();
    const origin = await auditMark();
    // A handful of made-up well-formed keys, not hundreds: each new one costs a Postgres lookup (and the
    // session it holds, see 10-postgres-sessions), and the machine's PostgreSQL is shared.
    const madeUp = [1, 2, 3, 4, 5].map((n) => generateApiKey(n % 2 ? "test" : "live"));
    const key = fc.oneof(
      printable,
      fc.constantFrom(...madeUp),
      fc.constantFrom(fuzzer.key, other.key).map((real) => real.slice(0, -1)),
      fc.constantFrom(fuzzer.key, other.key).map((real) => `${real}x`),
      fc.constantFrom(fuzzer.key, other.key).map((real) => real.toUpperCase()),
      fc.constantFrom(fuzzer.key, other.key).map((real) => real.replace("gw_test_", "gw_live_")),
      fc.constantFrom(`${fuzzer.key}\rX-Injected: 1`, `${fuzzer.key}, ${other.key}`, "gw_test_", "Bearer"),
    );
    const placement = fc.constantFrom("X-API-Key", "Authorization: Bearer", "Authorization: Basic", "both");
    await fuzz(
      "keys",
      fc.tuple(key, placement),
      async ([candidate, where]) => {
        const headers: Array<[string, string]> = [["Host", gatewayHost]];
        if (where === "X-API-Key" || where === "both") headers.push(["X-API-Key", candidate]);
        if (where === "Authorization: Bearer" || where === "both")
          headers.push(["Authorization", `Bearer ${candidate}`]);
        if (where === "Authorization: Basic") headers.push(["Authorization", `Basic ${candidate}`]);
        headers.push(["Connection", "close"]);
        const { broken, observed } = await sendRaw({ method: "GET", target: "/v1/echo", headers });
        if (observed && ![400, 401, 403].includes(observed.status)) {
          broken.push(
            `a key that is not one answered ${observed.status}${fromOrigin(observed) ? " from the origin" : ""}`,
          );
        }
        return broken;
      },
      { numRuns: 300 },
    );
    // None of these keys is valid: nothing at all may have reached the origin.
    const audit = await auditOrigin(origin, () => undefined);
    for (const broken of audit.broken) violation("hostile input: keys (origin)", broken);
    expect(violationsSince(mark)).toEqual([]);
  });

  it("bodies: any bytes, any content type, declared or chunked, pass or are refused cleanly", async () => {
    const mark = violationMark();
    const origin = await auditMark();
    await fuzz(
      "bodies",
      fc.record({
        method: fc.constantFrom("POST", "PUT", "PATCH", "DELETE"),
        body: fc.uint8Array({ maxLength: 4096 }),
        type: fc.constantFrom(
          "application/json",
          "text/plain",
          "application/octet-stream",
          "multipart/form-data; boundary=x",
          "x/y%0d%0aX-Injected: 1",
        ),
        chunked: fc.boolean(),
      }),
      async ({ method, body, type, chunked }) => {
        const framing: Array<[string, string]> = chunked
          ? [["Transfer-Encoding", "chunked"]]
          : [["Content-Length", String(body.length)]];
        const payload = Buffer.from(body);
        const bytes =
          chunked && payload.length > 0
            ? Buffer.concat([
                Buffer.from(`${payload.length.toString(16)}\r\n`),
                payload,
                Buffer.from("\r\n0\r\n\r\n"),
              ])
            : chunked
              ? Buffer.from("0\r\n\r\n")
              : payload;
        const result = await sendRaw({
          method,
          target: "/v1/echo",
          headers: base([["Content-Type", type], ...framing]),
          body: bytes,
        });
        if (result.observed?.status === 200) {
          const echoed = JSON.parse(result.observed.text) as { body: string };
          if (Buffer.byteLength(echoed.body) === 0 && payload.length > 0 && method !== "DELETE") {
            result.broken.push("the origin received an empty body");
          }
        }
        return result.broken;
      },
      { numRuns: 200 },
    );
    const audit = await auditOrigin(origin, identity());
    for (const broken of audit.broken) violation("hostile input: bodies (origin)", broken);
    expect(violationsSince(mark)).toEqual([]);
  });

  it(`oversized bodies: over MAX_BODY_BYTES (${env.settings.maxBodyBytes}) is 413, declared (at once) or chunked; at or under it passes`, async () => {
    const mark = violationMark();
    const max = env.settings.maxBodyBytes;
    await fuzz(
      "body sizes around MAX_BODY_BYTES",
      fc.record({
        size: fc.oneof(
          fc.integer({ min: max - 512, max: max + 512 }),
          fc.integer({ min: max + 1, max: max * 3 }),
        ),
        chunked: fc.boolean(),
        withKey: fc.boolean(),
      }),
      async ({ size, chunked, withKey }) => {
        const payload = Buffer.alloc(size, 0x61);
        const headers: Array<[string, string]> = [["Host", gatewayHost]];
        if (withKey) headers.push(["X-API-Key", fuzzer.key]);
        headers.push(["Content-Type", "application/octet-stream"]);
        let body: Buffer;
        if (chunked) {
          // Chunks of 16 KiB, as a streaming client sends them.
          const chunks: Buffer[] = [];
          for (let offset = 0; offset < size; offset += 16_384) {
            const part = payload.subarray(offset, offset + 16_384);
            chunks.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"));
          }
          headers.push(["Transfer-Encoding", "chunked"]);
          body = Buffer.concat([...chunks, Buffer.from("0\r\n\r\n")]);
        } else {
          headers.push(["Content-Length", String(size)]);
          body = payload;
        }
        // Refused on the headers alone (declared too large, or no key: the gateway reads no body before it
        // knows the caller), so none of the body is sent: a gateway that waited for it would time out here,
        // and a body still arriving after the answer would reset the connection and lose the answer.
        if ((!chunked && size > max) || !withKey) body = Buffer.alloc(0);
        headers.push(["Connection", "close"]);
        const { broken, observed } = await sendRaw({ method: "POST", target: "/v1/echo", headers, body });
        if (!observed) return [...broken, `${size} bytes${chunked ? " chunked" : ""}: no answer`];
        // A declared size is refused before anything else; an undeclared one can only be seen by reading it,
        // which a request without a key never gets to.
        const want = size > max ? (chunked && !withKey ? [401, 413] : [413]) : withKey ? [200] : [401];
        if (!want.includes(observed.status))
          broken.push(`${size} bytes${chunked ? " chunked" : ""}: ${observed.status}, want ${want}`);
        return broken;
      },
      { numRuns: 80 },
    );
    expect(violationsSince(mark)).toEqual([]);
  });
});
