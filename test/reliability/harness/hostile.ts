import fc from "fast-check";
import { env } from "./environment.ts";
import { fromOrigin, type Observed } from "./observed.ts";
import { oracle } from "./oracle.ts";
import { INJECTED } from "./origin-audit.ts";
import { rawRequest, requestBytes } from "./raw-http.ts";

/** Building blocks of hostile requests, shared by the fuzzing files. */
export const gatewayPort = Number(new URL(env.gateways.a).port);
export const gatewayHost = `127.0.0.1:${gatewayPort}`;
/** host:port of the decoy: any connection there means the gateway was steered off the origin. */
export const DECOY = `127.0.0.1:${env.decoyPort}`;

/** CR/LF in every spelling, aiming to start a header line `X-Injected: 1` wherever it lands. */
export const CRLF_PAYLOADS = [
  "%0d%0aX-Injected:%201",
  "%0D%0AX-Injected: 1",
  "%0aX-Injected:%201",
  "%E5%98%8A%E5%98%8DX-Injected:%201", // U+560A U+560D: truncated to \n \r by naive byte casts
  "\\r\\nX-Injected: 1",
];

export const TRICKY_SEGMENTS = [
  "..",
  ".",
  "%2e%2e",
  "%2E%2E",
  ".%2e",
  "%2e.",
  "..%2f",
  "..%2F..%2F",
  "%2f",
  "%5c",
  "..%5c",
  "..\\",
  "%252e%252e",
  "%00",
  "%ff",
  "%c0%ae%c0%ae",
  ".%00.",
  `@${DECOY}`,
  DECOY,
  "http:",
  `http://${DECOY}`,
  `https:%2f%2f${DECOY}`,
  `//${DECOY}`,
  ";",
  "%3b",
  ";x=y",
  "%23",
  "~",
  "admin",
  "health",
  "openapi.json",
  "x".repeat(300),
  ...CRLF_PAYLOADS,
];

const pchar = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,10}$/);
const encoded = fc.string({ maxLength: 8 }).map((text) => encodeURIComponent(text));
export const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_SEGMENTS) },
  { weight: 2, arbitrary: pchar },
  { weight: 1, arbitrary: encoded },
);

const PREFIXES = [
  "/v1/",
  "/v1",
  `//${DECOY}/v1/`,
  `/v1//${DECOY}/`,
  "/v1/%2e%2e/",
  "/V1/",
  "/v1%2f",
  "/v1\\",
  "\\v1\\",
  "/v1/./",
  "/./v1/",
  "/v1;/",
  "/%76%31/",
  "/",
  `http://${DECOY}/v1/`,
  `http://${gatewayHost}/v1/`,
  `//${gatewayHost}@${DECOY}/v1/`,
];

const queryValue = fc.oneof(
  fc.constantFrom(...CRLF_PAYLOADS, `http://${DECOY}/`, `//${DECOY}`, `@${DECOY}`, "..%2f..%2f", "gw_test_x"),
  encoded,
);
const query = fc.option(
  fc
    .array(fc.tuple(pchar, queryValue), { minLength: 1, maxLength: 3 })
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
  { nil: "" },
);

/** A request target: a prefix meant to confuse routing, hostile segments, a hostile query. */
export const target = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(segment, { maxLength: 5 }), query)
  .map(([prefix, segments, search]) => `${prefix}${segments.join("/")}${search}`);

export const hostHeader = fc.constantFrom(gatewayHost, DECOY, "evil.example", `${gatewayHost}@${DECOY}`, "");

/**
 * Sends one raw request to gateway a and applies the oracle plus the raw-level rules: an answer within the
 * deadline (a server's parser may hang up on bytes it refuses), no injected header in it.
 */
export async function sendRaw(request: {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** Bytes after which the server is expected to refuse: the client then waits for its answer (raw-http.ts). */
  pauseAfterBytes?: number;
}): Promise<{ broken: string[]; observed?: Observed }> {
  // An upload the server is expected to refuse waits for its answer (up to 15 s) before sending more.
  const timeoutMs = request.pauseAfterBytes === undefined ? 10_000 : 30_000;
  const outcome = await rawRequest(gatewayPort, requestBytes(request), timeoutMs, request.pauseAfterBytes);
  if (outcome.kind === "timeout") return { broken: [`no answer within ${timeoutMs / 1000} s`] };
  if (outcome.kind === "closed") return { broken: [] };
  const observed = outcome.observed;
  const broken = oracle(observed, { target: request.target, method: request.method });
  if (observed.headers.some(([name]) => name.startsWith(INJECTED)))
    broken.push("a smuggled header in the answer");
  if (observed.status === 200 && !fromOrigin(observed) && resolvedPath(request.target).startsWith("/v1")) {
    // A 200 under /v1 that the origin did not produce would be the gateway answering for it. Judged on the
    // path as URL parsing resolves it: `/v1/../openapi.json` IS `/openapi.json`, the gateway's own document.
    broken.push("a 200 under /v1 not produced by the origin");
  }
  return { broken, observed };
}

/** The path a request target names once dot segments are resolved, as the runtime's URL parser does. */
function resolvedPath(target: string): string {
  try {
    return new URL(target, "http://gateway.invalid").pathname;
  } catch {
    return target;
  }
}
