import type { Config } from "../config";
import { ApiError } from "../lib/errors";
import { signatureHeader } from "./origin-signature";

// RFC 9110 7.6.1 connection-specific headers, plus proxy-connection which some clients still send.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

// The caller's credentials and anything a client could use to spoof what the gateway asserts.
const NEVER_FORWARDED = new Set([
  "host",
  "x-api-key",
  "authorization",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "x-request-id",
]);

/** Portal session and CSRF cookies are the gateway's own; the origin never sees them. */
const GATEWAY_COOKIE = /^(__Host-)?gw_/;

export interface CallerIdentity {
  accountId: string;
  keyId: string;
  tier: string;
}

interface OriginBase {
  /** ORIGIN_URL without query, fragment or trailing slashes: what the request's path is appended to. */
  href: string;
  /** Its path without trailing slashes ("" for none): the start of the path the origin receives. */
  basePath: string;
}

/** By ORIGIN_URL: parsed once per isolate, not once per request. */
const originBases = new Map<string, OriginBase>();

function originBase(originUrl: string): OriginBase {
  let base = originBases.get(originUrl);
  if (base === undefined) {
    const url = new URL(originUrl);
    url.search = "";
    url.hash = "";
    base = { href: url.href.replace(/\/+$/, ""), basePath: url.pathname.replace(/\/+$/, "") };
    originBases.set(originUrl, base);
  }
  return base;
}

/** The parts of a request's URL the proxy uses, cut from the runtime's serialisation of it (WHATWG URL). */
interface RequestUrlParts {
  /** "http" or "https". */
  scheme: string;
  /** Host and port, as the client addressed the gateway. */
  host: string;
  /** Path and query, already normalised by the runtime (dot segments resolved, percent-encoded). */
  pathWithQuery: string;
}

/**
 * Splits `request.url`, which the runtime has already parsed and serialised, so the hot path does not parse
 * it again: scheme "://" host path [? query], never a fragment (none reaches a server).
 */
function requestUrlParts(url: string): RequestUrlParts {
  const hostStart = url.indexOf("://") + 3;
  let pathStart = url.indexOf("/", hostStart);
  if (pathStart < 0) pathStart = url.length;
  const fragment = url.indexOf("#", pathStart);
  return {
    scheme: url.slice(0, hostStart - 3),
    host: url.slice(hostStart, pathStart),
    pathWithQuery: url.slice(pathStart, fragment < 0 ? url.length : fragment) || "/",
  };
}

/**
 * The request's fields as the origin gets them: the runtime copies them all at once (cheaper than appending
 * them one by one from JS), then the ones a proxy must not pass on are taken out.
 */
function forwardedHeaders(request: Request, connectionListed: ReadonlySet<string>): Headers {
  const headers = new Headers(request.headers);
  // Headers iterate with lower-cased names (Fetch standard, "sort and combine").
  for (const name of request.headers.keys()) {
    if (
      HOP_BY_HOP.has(name) ||
      NEVER_FORWARDED.has(name) ||
      connectionListed.has(name) ||
      name.startsWith("x-gateway-") ||
      name.startsWith("cf-")
    ) {
      headers.delete(name);
    } else if (name === "cookie") {
      const kept = (request.headers.get("cookie") ?? "")
        .split(";")
        .map((part) => part.trim())
        .filter((part) => part && !GATEWAY_COOKIE.test(part.split("=")[0] ?? ""));
      if (kept.length > 0) headers.set("Cookie", kept.join("; "));
      else headers.delete("Cookie");
    }
  }
  return headers;
}

const NO_TOKENS: ReadonlySet<string> = new Set();

/** The field names a message's Connection header lists (RFC 9110 7.6.1): hop-by-hop for that message. */
function connectionTokens(headers: Headers): ReadonlySet<string> {
  const connection = headers.get("Connection")?.toLowerCase();
  // The usual values name only fields that are hop-by-hop anyway (an origin's every response says one).
  if (!connection || connection === "keep-alive" || connection === "close") return NO_TOKENS;
  return new Set(
    connection
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Forwards the request to the origin, streamed both ways, redirects passed back unfollowed. An origin that
 * has not answered (headers) within ORIGIN_TIMEOUT_MS gives 504; one that cannot be reached gives 502.
 */
export async function proxyToOrigin(
  request: Request,
  config: Config,
  identity: CallerIdentity,
  requestId: string,
): Promise<Response> {
  const incoming = requestUrlParts(request.url);
  // Only path and query are taken from the client, never scheme or host.
  const origin = originBase(config.originUrl);
  const target = `${origin.href}${incoming.pathWithQuery}`;
  const headers = forwardedHeaders(request, connectionTokens(request.headers));
  const clientIp = request.headers.get("CF-Connecting-IP");
  if (clientIp) {
    headers.set("X-Forwarded-For", clientIp);
    headers.set("X-Real-IP", clientIp);
  }
  headers.set("X-Forwarded-Proto", incoming.scheme);
  headers.set("X-Forwarded-Host", incoming.host);
  headers.set("X-Request-Id", requestId);
  headers.set("X-Gateway-Account", identity.accountId);
  headers.set("X-Gateway-Key-Id", identity.keyId);
  headers.set("X-Gateway-Tier", identity.tier);
  if (config.originSharedSecret) {
    const timestamp = Math.floor(Date.now() / 1000);
    headers.set(
      "X-Gateway-Signature",
      await signatureHeader(config.originSharedSecret, timestamp, {
        ...identity,
        method: request.method,
        pathWithQuery: `${origin.basePath}${incoming.pathWithQuery}`,
        requestId,
      }),
    );
  }

  const controller = new AbortController();
  // An upload cut off for its size must reach the origin as an INCOMPLETE message (RFC 9112 7.1, 8): erroring
  // the body stream alone lets the runtime end it with the last chunk, a well-formed request the origin would
  // act on. Aborting the upstream request closes the connection mid-body instead.
  const body =
    request.method === "GET" || request.method === "HEAD"
      ? undefined
      : limitedBody(request, config.maxBodyBytes, () =>
          controller.abort(new Error("request body over limit")),
        );
  const tooLarge = () =>
    new ApiError("payload_too_large", {
      detail: `Request bodies are limited to ${config.maxBodyBytes} bytes.`,
    });
  // The deadline covers the wait for the origin's headers only, never the body's streaming after them.
  // AbortSignal.timeout, the runtime's own timer, not setTimeout/clearTimeout: with nodejs_compat those go
  // through Node's timers module and cost the worker more CPU (bench run 2026-11-30: 10% of the gateway's
  // profile against 3%), although callgrind counted fewer user-space instructions for them.
  let answered = false;
  AbortSignal.timeout(config.originTimeoutMs).onabort = () => {
    if (!answered) controller.abort();
  };
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: body?.stream ?? null,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch (cause) {
    if (body?.overflowed()) throw tooLarge();
    if (controller.signal.aborted) {
      throw new ApiError("origin_timeout", {
        detail: `The origin did not answer within ${config.originTimeoutMs} ms.`,
        cause,
      });
    }
    throw new ApiError("origin_unreachable", { detail: "The origin could not be reached.", cause });
  } finally {
    answered = true;
  }
  // The origin answered before noticing the cut-off upload: the client still learns its body was refused.
  if (body?.overflowed()) {
    await upstream.body?.cancel();
    throw tooLarge();
  }

  // The runtime copies status, status text and headers (mutable, for the RateLimit fields); then the
  // connection-specific ones go, as a proxy must (RFC 9110 7.6.1).
  const response = new Response(upstream.body, upstream);
  const listed = connectionTokens(upstream.headers);
  for (const name of upstream.headers.keys()) {
    if (HOP_BY_HOP.has(name) || listed.has(name)) response.headers.delete(name);
  }
  return response;
}

/** Refuses a body whose declared length is over the limit, before any key lookup or limit is spent on it. */
export function assertDeclaredBodySize(request: Request, maxBytes: number): void {
  if (Number(request.headers.get("Content-Length") ?? 0) > maxBytes) {
    throw new ApiError("payload_too_large", { detail: `Request bodies are limited to ${maxBytes} bytes.` });
  }
}

interface LimitedBody {
  stream: ReadableStream<Uint8Array> | null;
  /** True once an undeclared body grew past the limit (the upload was then cut off). */
  overflowed(): boolean;
}

/**
 * The request body; an undeclared (chunked) body that grows past the limit is cut off mid-upload:
 * `abortUpstream` runs first (so the origin's connection closes before the stream can end), then the stream
 * errors and never ends cleanly.
 */
function limitedBody(request: Request, maxBytes: number, abortUpstream: () => void): LimitedBody {
  assertDeclaredBodySize(request, maxBytes);
  if (!request.body || request.headers.has("Content-Length"))
    return { stream: request.body, overflowed: () => false };
  let seen = 0;
  const stream = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen <= maxBytes) {
          controller.enqueue(chunk);
          return;
        }
        abortUpstream();
        controller.error(new Error(`request body over ${maxBytes} bytes`));
      },
    }),
  );
  return { stream, overflowed: () => seen > maxBytes };
}
