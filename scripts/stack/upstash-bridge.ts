import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Redis, type RedisOptions, ReplyError } from "ioredis";
import { listen } from "./net.ts";
import { createScriptTranslator, type TranslatedCommand } from "./upstash-bridge-lua.ts";
import {
  BadRequest,
  encodeReply,
  parseCommand,
  parseCommandList,
  parseJson,
  parsePathCommand,
  type RedisCommand,
} from "./upstash-bridge-protocol.ts";

export interface UpstashBridgeOptions {
  /** redis:// URL of the real Redis the bridge forwards to. */
  redisUrl: string;
  /** The bearer token clients must send (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, see `url`. */
  port?: number;
}

export interface UpstashBridge {
  /** Base URL for UPSTASH_REDIS_REST_URL, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** Since start or resetStats: every HTTP request, and every command one carried (a /pipeline of 5 adds 5). */
  stats: { httpRequests: number; commands: number };
  resetStats(): void;
  /** Stops accepting requests, lets running ones finish briefly, then closes the Redis connection. */
  close(): Promise<void>;
}

/**
 * How the bridge talks to Redis. It must fail fast and heal by itself: an HTTP client waiting on a dead
 * Redis should get a 503 now, not after ioredis's default 20 silent retries, and the bridge must pick Redis
 * up again when it comes back without anyone restarting it.
 */
const REDIS_OPTIONS: RedisOptions = {
  // Upstash answers in RESP2 shapes (HGETALL as a flat array, scores as strings); ioredis 6 defaults to RESP3.
  protocol: 2,
  lazyConnect: true,
  // Without a connection, reject at once instead of queueing requests behind a reconnect.
  enableOfflineQueue: false,
  // A command in flight when the connection drops fails instead of being re-sent: it may have run already.
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  // A Redis that hangs (rather than closing the socket) still gets the HTTP client an answer.
  commandTimeout: 10_000,
  // Never give up reconnecting; at most a second between attempts so recovery is noticed quickly.
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
};

/** Upstash's own limit is in this range; a cap keeps a runaway client from exhausting the dev machine. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** How long close() lets requests still running finish before cutting their connections. */
const CLOSE_GRACE_MS = 1_000;

interface HttpReply {
  status: number;
  body: unknown;
}

class PayloadTooLarge extends Error {}

/** Starts the bridge once Redis answers; throws if it does not (the stack starts Redis first). */
const STATS_PATH = "/__bridge/stats";
/** A client whose base URL ends in /__tag/NAME is also counted under NAME (see statsReply). */
const TAG_PATH = /^\/__tag\/([A-Za-z0-9_-]{1,64})(?=\/|$)/;
const DELAY_PATH = "/__bridge/delay";
/** Longest reply delay the switch accepts: a fault test wants "slower than the client's deadline", not forever. */
const MAX_REPLY_DELAY_MS = 60_000;

export async function startUpstashBridge(opts: UpstashBridgeOptions): Promise<UpstashBridge> {
  if (!opts.token) throw new Error("Upstash bridge: a non-empty token is required");
  const host = opts.host ?? "127.0.0.1";
  const redis = await connectRedis(opts.redisUrl);
  const scripts = createScriptTranslator();
  const isValidToken = tokenChecker(opts.token);
  const stats = { httpRequests: 0, commands: 0 };

  /** Runs commands (already counted) and builds the reply; Redis's own errors are for the client to see. */
  async function runOne(command: RedisCommand, base64: boolean): Promise<HttpReply> {
    const { command: translated, mapReply } = scripts.translate(command);
    const [name = "", ...args] = translated;
    const reply = await redis.callBuffer(name, ...args);
    return { status: 200, body: { result: encodeReply(mapReply ? mapReply(reply) : reply, base64) } };
  }

  async function runBatch(commands: RedisCommand[], atomic: boolean, base64: boolean): Promise<HttpReply> {
    const translated: TranslatedCommand[] = commands.map((command) => scripts.translate(command));
    const batch = atomic ? redis.multi() : redis.pipeline();
    for (const { command } of translated) {
      const [name = "", ...args] = command;
      batch.callBuffer(name, ...args);
    }
    const results = await batch.exec();
    if (!results) throw new Error("the transaction was not executed");
    // A reply error belongs to its command; anything else (connection lost) fails the whole request.
    const failure = results.find(([error]) => error && !(error instanceof ReplyError));
    if (failure) throw failure[0];
    const body = results.map(([error, reply], index) => {
      if (error) return { error: error.message };
      const mapReply = translated[index]?.mapReply;
      return { result: encodeReply(mapReply ? mapReply(reply) : reply, base64) };
    });
    return { status: 200, body };
  }

  const tagged = new Map<string, { httpRequests: number; commands: number }>();
  let replyDelayMs = 0;

  /**
   * Not Upstash, test-only: POST /__bridge/delay?ms=N holds every later reply N ms after Redis answered (0
   * ends it; GET reads it), so fault tests can show that the worker's own deadline (RATE_LIMIT_TIMEOUT_MS)
   * answers the client rather than a slow Redis. Commands still run at once. Not counted; same bearer token.
   */
  function delayReply(req: IncomingMessage): HttpReply {
    req.resume();
    if (!isValidToken(bearerToken(req.headers.authorization)))
      return { status: 401, body: { error: "Unauthorized" } };
    if (req.method === "POST") {
      const ms = Number(new URL(req.url ?? "/", "http://bridge").searchParams.get("ms"));
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_REPLY_DELAY_MS)
        return { status: 400, body: { error: `ERR ms must be an integer from 0 to ${MAX_REPLY_DELAY_MS}` } };
      replyDelayMs = ms;
    }
    return { status: 200, body: { delayMs: replyDelayMs } };
  }

  /**
   * Not Upstash: GET /__bridge/stats reads the counters, POST resets them, `?tag=NAME` narrows them to the
   * clients whose base URL ends in /__tag/NAME. Tests and the benchmark inside workerd count the worker's
   * round trips with it, also while other clients share the bridge. Not counted itself; same bearer token.
   */
  function statsReply(req: IncomingMessage): HttpReply {
    req.resume();
    if (!isValidToken(bearerToken(req.headers.authorization)))
      return { status: 401, body: { error: "Unauthorized" } };
    const tag = new URL(req.url ?? "/", "http://bridge").searchParams.get("tag");
    const counters = tag ? (tagged.get(tag) ?? { httpRequests: 0, commands: 0 }) : stats;
    if (req.method === "POST") {
      counters.httpRequests = 0;
      counters.commands = 0;
    }
    if (tag) tagged.set(tag, counters);
    return { status: 200, body: { ...counters } };
  }

  /** Strips a /__tag/NAME prefix from the request URL and returns that tag's counters, if any. */
  function untag(req: IncomingMessage): { httpRequests: number; commands: number } | undefined {
    const match = TAG_PATH.exec(req.url ?? "");
    if (!match?.[1]) return undefined;
    req.url = (req.url ?? "").slice(match[0].length) || "/";
    let counters = tagged.get(match[1]);
    if (!counters) {
      counters = { httpRequests: 0, commands: 0 };
      tagged.set(match[1], counters);
    }
    return counters;
  }

  async function handle(req: IncomingMessage, tagCounters?: { commands: number }): Promise<HttpReply> {
    if (!isValidToken(bearerToken(req.headers.authorization))) {
      return { status: 401, body: { error: "Unauthorized" } };
    }
    if (req.method !== "GET" && req.method !== "POST") {
      return { status: 405, body: { error: "ERR only GET and POST are supported" } };
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    try {
      const body = await readBody(req);
      const path = new URL(req.url ?? "/", "http://bridge").pathname.replace(/\/+$/, "");
      if (path === "/pipeline" || path === "/multi-exec") {
        const commands = parseCommandList(parseJson(body));
        stats.commands += commands.length;
        if (tagCounters) tagCounters.commands += commands.length;
        return await runBatch(commands, path === "/multi-exec", base64);
      }
      const command = path === "" ? parseCommand(parseJson(body)) : parsePathCommand(path, body);
      stats.commands += 1;
      if (tagCounters) tagCounters.commands += 1;
      return await runOne(command, base64);
    } catch (error) {
      return errorReply(error);
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith(STATS_PATH)) {
      send(res, statsReply(req));
      return;
    }
    if (req.url?.startsWith(DELAY_PATH)) {
      send(res, delayReply(req));
      return;
    }
    const tagCounters = untag(req);
    stats.httpRequests += 1;
    if (tagCounters) tagCounters.httpRequests += 1;
    const delayMs = replyDelayMs;
    const reply = (body: HttpReply) =>
      delayMs > 0 ? setTimeout(() => send(res, body), delayMs).unref() : send(res, body);
    handle(req, tagCounters).then(reply, (error: unknown) =>
      reply({ status: 500, body: { error: `ERR bridge failure: ${messageOf(error)}` } }),
    );
  });
  let port: number;
  try {
    port = await listen(server, opts.port ?? 0, host);
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    stats,
    resetStats() {
      stats.httpRequests = 0;
      stats.commands = 0;
    },
    async close() {
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      if (redis.status === "ready") await redis.quit().catch(() => {});
      redis.disconnect();
    },
  };
}

/**
 * Connects with the fail-fast options, logging outages once each (not per reconnect attempt) so a dev
 * terminal is not flooded while Redis is down. Nothing logged carries the URL's password or the token.
 */
async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, REDIS_OPTIONS);
  let started = false;
  let down = false;
  let lastError: Error | undefined;
  // Without an "error" listener ioredis prints every failed reconnect attempt itself.
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  // "reconnecting" fires for a connection lost unexpectedly (not for close()), and for a failed start.
  redis.on("reconnecting", () => {
    if (!started || down) return;
    down = true;
    console.warn(`[upstash-bridge] lost Redis at ${hostOf(url)}; answering 503 until it is back`);
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    console.warn("[upstash-bridge] Redis is back");
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = messageOf(lastError ?? error);
    throw new Error(`Upstash bridge: Redis at ${hostOf(url)} does not answer: ${reason}`);
  }
  started = true;
  return redis;
}

/** Compares digests so the comparison takes the same time whatever the candidate's length. */
function tokenChecker(token: string): (candidate: string | undefined) => boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  const expected = digest(token);
  return (candidate) => candidate !== undefined && timingSafeEqual(digest(candidate), expected);
}

function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
}

/** Reads the whole body as UTF-8; past the cap it keeps draining (so the 413 can be sent) but keeps nothing. */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES)
    throw new PayloadTooLarge(`ERR request body larger than ${MAX_BODY_BYTES} bytes`);
  return Buffer.concat(chunks).toString("utf8");
}

/** Upstash's error shape: HTTP 400 for the client's or Redis's errors, 5xx when Redis cannot be reached. */
function errorReply(error: unknown): HttpReply {
  if (error instanceof BadRequest) return { status: 400, body: { error: error.message } };
  if (error instanceof PayloadTooLarge) return { status: 413, body: { error: error.message } };
  if (error instanceof ReplyError) {
    // EXECABORT alone does not say which queued command was wrong; ioredis keeps that in previousErrors.
    const cause = (error as { previousErrors?: Error[] }).previousErrors?.[0];
    return {
      status: 400,
      body: { error: cause ? `${messageOf(error)} (${cause.message})` : messageOf(error) },
    };
  }
  return { status: 503, body: { error: `ERR Redis is unavailable: ${messageOf(error)}` } };
}

function send(res: ServerResponse, reply: HttpReply): void {
  const json = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(json),
  });
  res.end(json);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(unparsable REDIS URL)";
  }
}
