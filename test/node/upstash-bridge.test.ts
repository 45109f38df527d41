import { rmSync } from "node:fs";
import { join } from "node:path";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { freePort } from "../../scripts/stack/net.ts";
import { startRedisServer } from "../../scripts/stack/redis.ts";
import { startUpstashBridge, type UpstashBridge } from "../../scripts/stack/upstash-bridge.ts";
import { sha1Hex, stripUnknownScriptFlags } from "../../scripts/stack/upstash-bridge-lua.ts";

const TOKEN = "bridge-test-token-0123456789abcdef";
/** The first line @upstash/ratelimit 2.2 puts on its scripts, which stock Redis 7 refuses. */
const FLAGGED = "#!lua flags=allow-key-locking";

let bridge: UpstashBridge;
/** A plain TCP client on the same Redis, to check what the bridge really stored and to reset state. */
let direct: IORedis;
/**
 * The SDK with its defaults (auto-pipelining, so commands travel through /pipeline; telemetry and
 * read-your-writes headers, which the bridge must ignore), except retries, so failures surface at once.
 */
let redis: Redis;
/** One HTTP request per command (POST /), the SDK's other path. */
let single: Redis;

const sdk = (opts: { token?: string; enableAutoPipelining?: boolean } = {}) =>
  new Redis({
    url: bridge.url,
    token: opts.token ?? TOKEN,
    enableAutoPipelining: opts.enableAutoPipelining,
    retry: false,
  });

interface RawReply {
  status: number;
  contentType: string | null;
  json: unknown;
}

/** A hand-made request, for what the SDK never sends (or would hide behind its decoding). */
async function raw(
  path: string,
  body: unknown,
  opts: { token?: string | null; base64?: boolean; method?: string; url?: string } = {},
): Promise<RawReply> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  if (opts.base64) headers["upstash-encoding"] = "base64";
  const method = opts.method ?? "POST";
  const response = await fetch(`${opts.url ?? bridge.url}${path}`, {
    method,
    headers,
    body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    json: await response.json(),
  };
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/**
 * Waits while the current window of `windowMs` is about to end, so a burst of calls does not straddle two
 * windows (which legitimately admits more than the limit and would make an exact count flaky).
 */
async function awayFromWindowEdge(windowMs: number): Promise<void> {
  const intoWindow = Date.now() % windowMs;
  if (intoWindow > windowMs - 3_000) await new Promise((r) => setTimeout(r, windowMs - intoWindow + 50));
}

const limiter = (algorithm: ConstructorParameters<typeof Ratelimit>[0]["limiter"], client = redis) =>
  new Ratelimit({
    redis: client,
    limiter: algorithm,
    prefix: `rl-test-${Math.random().toString(36).slice(2)}`,
    ephemeralCache: false,
    timeout: 0,
    analytics: false,
  });

const successes = (results: Array<{ success: boolean }>) => results.filter((r) => r.success).length;

beforeAll(async () => {
  // A database of its own, so the FLUSHDB below leaves other test files' keys alone.
  const url = new URL(inject("redisUrl"));
  url.pathname = "/9";
  const redisUrl = url.toString();
  direct = new IORedis(redisUrl, { protocol: 2 });
  bridge = await startUpstashBridge({ redisUrl, token: TOKEN });
  redis = sdk();
  single = sdk({ enableAutoPipelining: false });
});

afterAll(async () => {
  await bridge?.close();
  direct?.disconnect();
});

beforeEach(async () => {
  await direct.flushdb();
  // Scripts are server-wide; dropping them only makes other clients' EVALSHA fall back to EVAL once.
  await direct.script("FLUSH");
  bridge.resetStats();
});

describe("startUpstashBridge", () => {
  it("listens on a free loopback port by default", () => {
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(bridge.url).port)).toBeGreaterThan(0);
  });

  it("refuses to start when Redis does not answer, naming the host but not the password", async () => {
    const port = await freePort();
    const started = startUpstashBridge({ redisUrl: `redis://:s3cret-pw@127.0.0.1:${port}`, token: TOKEN });
    await expect(started).rejects.toThrow(`127.0.0.1:${port}`);
    await expect(started).rejects.not.toThrow("s3cret-pw");
  });
});

describe("authorization", () => {
  it("rejects a wrong or missing bearer token with Upstash's 401 shape", async () => {
    for (const token of ["wrong-token", `${TOKEN}x`, "", null]) {
      const reply = await raw("/", ["PING"], { token });
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual({ error: "Unauthorized" });
    }
    const basic = await fetch(bridge.url, {
      method: "POST",
      headers: { authorization: `Basic ${TOKEN}` },
      body: '["PING"]',
    });
    expect(basic.status).toBe(401);
  });

  it("surfaces as a thrown error from the SDK, on both of its request paths", async () => {
    await expect(sdk({ token: "nope" }).get("k")).rejects.toThrow(/Unauthorized/);
    await expect(sdk({ token: "nope", enableAutoPipelining: false }).get("k")).rejects.toThrow(
      /Unauthorized/,
    );
  });

  it("accepts the right token", async () => {
    expect(await raw("/", ["PING"])).toMatchObject({ status: 200, json: { result: "PONG" } });
  });
});

describe.each([
  ["auto-pipelined (/pipeline)", () => redis],
  ["one request per command (POST /)", () => single],
])("the SDK, %s", (_name, client) => {
  it("round-trips strings with unicode, control characters and NUL", async () => {
    const value = "héllo wörld ✓ 😀 日本語 \u0000\u0001\u001f\t\r\n end";
    expect(await client().set("text", value)).toBe("OK");
    expect(await client().get("text")).toBe(value);
    expect(await direct.getBuffer("text")).toEqual(Buffer.from(value, "utf8"));
  });

  it("keeps numbers numbers: set, incr, incrby, incrbyfloat", async () => {
    await client().set("n", 41);
    expect(await client().incr("n")).toBe(42);
    expect(await client().incrby("n", 8)).toBe(50);
    expect(await client().get("n")).toBe(50);
    expect(await client().incrbyfloat("n", 0.5)).toBe(50.5);
    expect(await client().get("missing")).toBeNull();
  });

  it("stores objects as JSON and hands them back parsed", async () => {
    const value = { a: 1, nested: { list: [1, "two", null], ok: true }, text: 'quote " and \\' };
    await client().set("json", value);
    expect(await client().get("json")).toEqual(value);
    expect(await direct.get("json")).toBe(JSON.stringify(value));
  });

  it("returns hashes, lists, sets and sorted sets as the SDK expects", async () => {
    expect(await client().hset("h", { name: "ada", age: 36 })).toBe(2);
    expect(await client().hgetall("h")).toEqual({ name: "ada", age: 36 });
    expect(await client().hget("h", "name")).toBe("ada");
    expect(await client().rpush("l", "a", "b", "c")).toBe(3);
    expect(await client().lrange("l", 0, -1)).toEqual(["a", "b", "c"]);
    expect(await client().sadd("s", "x", "y")).toBe(2);
    expect((await client().smembers("s")).sort()).toEqual(["x", "y"]);
    await client().zadd("z", { score: 2, member: "two" }, { score: 1, member: "one" });
    expect(await client().zrange("z", 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2]);
  });

  it("throws Redis's error message", async () => {
    await client().hset("h", { a: 1 });
    await expect(client().incr("h")).rejects.toThrow(
      /WRONGTYPE Operation against a key holding the wrong kind/,
    );
  });
});

describe("single commands (POST /)", () => {
  it("answers {result} and a Redis error as HTTP 400 {error}", async () => {
    expect(await raw("/", ["SET", "k", "v"])).toMatchObject({ status: 200, json: { result: "OK" } });
    const unknown = await raw("/", ["NOSUCHCOMMAND", "x"]);
    expect(unknown.status).toBe(400);
    expect((unknown.json as { error: string }).error).toMatch(/^ERR unknown command/);
    await direct.hset("h", "a", "1");
    expect(await raw("/", ["INCR", "h"])).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^WRONGTYPE/) },
    });
  });

  it("takes numbers and booleans as arguments, as the SDK serialises them", async () => {
    expect((await raw("/", ["SET", "k", 12.5, "EX", 100])).json).toEqual({ result: "OK" });
    expect((await raw("/", ["SET", "b", true])).json).toEqual({ result: "OK" });
    expect(await direct.get("k")).toBe("12.5");
    expect(await direct.ttl("k")).toBeGreaterThan(90);
    expect(await direct.get("b")).toBe("true");
  });

  it("base64-encodes every string when asked (Upstash-Encoding: base64) but not integers or nil", async () => {
    expect((await raw("/", ["SET", "k", "v"], { base64: true })).json).toEqual({ result: b64("OK") });
    expect((await raw("/", ["PING"], { base64: true })).json).toEqual({ result: b64("PONG") });
    expect((await raw("/", ["GET", "k"], { base64: true })).json).toEqual({ result: b64("v") });
    expect((await raw("/", ["INCR", "n"], { base64: true })).json).toEqual({ result: 1 });
    expect((await raw("/", ["GET", "nothing"], { base64: true })).json).toEqual({ result: null });
    const nestedScript = "return {1, 'a', {2, 'b', {'c'}}, redis.status_reply('FINE')}";
    const nested = await raw("/", ["EVAL", nestedScript, 0], { base64: true });
    expect(nested.json).toEqual({ result: [1, b64("a"), [2, b64("b"), [b64("c")]], b64("FINE")] });
  });

  it("is binary-safe in base64 mode", async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await direct.set("bin", bytes);
    const reply = await raw("/", ["GET", "bin"], { base64: true });
    expect(Buffer.from((reply.json as { result: string }).result, "base64")).toEqual(bytes);
    const list = await raw("/", ["LRANGE", "nothing", 0, -1], { base64: true });
    expect(list.json).toEqual({ result: [] });
  });

  it("answers plain strings without the encoding header", async () => {
    await direct.set("k", "héllo");
    expect((await raw("/", ["GET", "k"])).json).toEqual({ result: "héllo" });
    await direct.rpush("l", "a", "b");
    expect((await raw("/", ["LRANGE", "l", 0, -1])).json).toEqual({ result: ["a", "b"] });
    expect((await raw("/", ["HGETALL", "nothing"])).json).toEqual({ result: [] });
  });

  it("keeps Redis's flat HGETALL array even for a lower-case command name", async () => {
    await direct.hset("h", "a", "1", "b", "2");
    const reply = await raw("/", ["hgetall", "h"]);
    expect((reply.json as { result: string[] }).result.sort()).toEqual(["1", "2", "a", "b"]);
  });

  it("serves path-style commands (GET /get/key, POST /set/key with the value as body)", async () => {
    expect((await raw("/set/path%20key", "some value")).json).toEqual({ result: "OK" });
    expect(await direct.get("path key")).toBe("some value");
    expect((await raw("/get/path%20key", undefined, { method: "GET" })).json).toEqual({
      result: "some value",
    });
    expect((await raw("/incr/counter", "")).json).toEqual({ result: 1 });
  });
});

describe("malformed requests", () => {
  const cases: Array<[string, string, string]> = [
    ["not JSON", "/", "{not json"],
    ["an empty body", "/", ""],
    ["a JSON object", "/", '{"command":"GET"}'],
    ["a JSON string", "/", '"GET k"'],
    ["an empty command", "/", "[]"],
    ["an empty command name", "/", '[""]'],
    ["an object argument", "/", '["SET","k",{"a":1}]'],
    ["a null argument", "/", '["SET","k",null]'],
    ["a command where a pipeline is expected", "/pipeline", '["GET","k"]'],
    ["an empty pipeline", "/pipeline", "[]"],
    ["a pipeline with an empty command", "/pipeline", '[["PING"],[]]'],
    ["a transaction that is not JSON", "/multi-exec", "[["],
    ["a connection-state command", "/", '["SELECT","1"]'],
    ["a blocking command", "/", '["BLPOP","q","0"]'],
    ["a blocking stream read", "/", '["XREAD","BLOCK","0","STREAMS","s","$"]'],
    ["a raw MULTI in a pipeline", "/pipeline", '[["MULTI"],["SET","k","v"]]'],
  ];
  it.each(cases)("answers 400 JSON for %s", async (_name, path, body) => {
    const reply = await raw(path, body);
    expect(reply.status).toBe(400);
    expect(reply.contentType).toBe("application/json");
    expect(reply.json).toEqual({ error: expect.stringMatching(/^ERR /) });
  });

  it("sends nothing to Redis for a malformed pipeline, and keeps serving", async () => {
    await raw("/pipeline", '[["SET","half","1"],{"oops":true}]');
    expect(await direct.exists("half")).toBe(0);
    expect(await single.ping()).toBe("PONG");
  });

  it("lets a stream read without BLOCK through, even with a key named block", async () => {
    await direct.xadd("block", "1-0", "f", "v");
    const reply = await raw("/", ["XREAD", "STREAMS", "block", "0"]);
    expect(reply).toMatchObject({ status: 200, json: { result: [["block", [["1-0", ["f", "v"]]]]] } });
  });

  it("answers 405 for other methods", async () => {
    const reply = await raw("/", '["PING"]', { method: "PUT" });
    expect(reply.status).toBe(405);
    expect(reply.json).toEqual({ error: expect.any(String) });
  });
});

describe("pipelines and transactions", () => {
  it("runs redis.pipeline() and returns one result per command", async () => {
    const results = await single
      .pipeline()
      .set("p", 1)
      .incr("p")
      .get("p")
      .hset("ph", { f: "v" })
      .hgetall("ph")
      .exec();
    expect(results).toEqual(["OK", 2, 2, 1, { f: "v" }]);
  });

  it("does not stop a pipeline at a failing command", async () => {
    await direct.hset("h", "a", "1");
    const results = await single
      .pipeline()
      .set("before", "1")
      .incr("h")
      .set("after", "2")
      .exec({ keepErrors: true });
    expect(results[0]).toEqual({ error: undefined, result: "OK" });
    expect(results[1]?.error).toMatch(/^WRONGTYPE/);
    expect(results[2]).toEqual({ error: undefined, result: "OK" });
    expect(await direct.get("after")).toBe("2");
    await expect(single.pipeline().set("x", "1").incr("h").exec()).rejects.toThrow(
      /Command 2 \[ incr \] failed/,
    );
  });

  it("answers raw /pipeline with an array of {result} | {error}", async () => {
    const reply = await raw("/pipeline", [["SET", "k", "v"], ["NOPE"], ["GET", "k"]], { base64: true });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual([
      { result: b64("OK") },
      { error: expect.stringMatching(/^ERR unknown command/) },
      { result: b64("v") },
    ]);
  });

  it("runs redis.multi() in MULTI/EXEC", async () => {
    const results = await single.multi().set("m", 10).incr("m").get("m").lpush("ml", "a").exec();
    expect(results).toEqual(["OK", 11, 11, 1]);
  });

  it("wraps /multi-exec in MULTI/EXEC and leaves /pipeline unwrapped (as Redis sees them)", async () => {
    const seen: string[] = [];
    const monitor = await direct.monitor();
    monitor.on("monitor", (_time: string, args: string[]) => {
      const line = args.map(String).join(" ").toUpperCase();
      if (line === "MULTI" || line === "EXEC" || line.includes("MON-K")) seen.push(line);
    });
    try {
      await raw("/multi-exec", [
        ["SET", "mon-k", "1"],
        ["INCR", "mon-k"],
      ]);
      await raw("/pipeline", [
        ["SET", "mon-k", "1"],
        ["INCR", "mon-k"],
      ]);
      await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(6));
    } finally {
      monitor.disconnect();
    }
    expect(seen).toEqual(["MULTI", "SET MON-K 1", "INCR MON-K", "EXEC", "SET MON-K 1", "INCR MON-K"]);
  });

  it("reports an execution-time error in its slot and keeps the rest of the transaction", async () => {
    await direct.hset("h", "a", "1");
    const reply = await raw("/multi-exec", [
      ["SET", "k", "1"],
      ["INCR", "h"],
      ["INCR", "k"],
    ]);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual([
      { result: "OK" },
      { error: expect.stringMatching(/^WRONGTYPE/) },
      { result: 2 },
    ]);
  });

  it("discards the whole transaction when a command cannot be queued, as HTTP 400", async () => {
    const reply = await raw("/multi-exec", [
      ["SET", "k", "1"],
      ["SET", "only-a-key"],
    ]);
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: expect.stringMatching(/^EXECABORT.*wrong number of arguments/) });
    expect(await direct.exists("k")).toBe(0);
  });
});

describe("stats", () => {
  it("counts HTTP requests and the commands they carried", async () => {
    expect(bridge.stats).toEqual({ httpRequests: 0, commands: 0 });
    await single.set("a", 1);
    expect(bridge.stats).toEqual({ httpRequests: 1, commands: 1 });
    await single.pipeline().get("a").get("b").incr("a").set("c", 3).del("b").exec();
    expect(bridge.stats).toEqual({ httpRequests: 2, commands: 6 });
    await single.multi().incr("a").incr("a").exec();
    expect(bridge.stats).toEqual({ httpRequests: 3, commands: 8 });
  });

  it("counts rejected requests as requests without commands, and resets", async () => {
    await raw("/", ["PING"], { token: "wrong" });
    await raw("/pipeline", "[]");
    expect(bridge.stats).toEqual({ httpRequests: 2, commands: 0 });
    bridge.resetStats();
    expect(bridge.stats).toEqual({ httpRequests: 0, commands: 0 });
  });

  it("sees the SDK's auto-pipelining batch concurrent calls into one request", async () => {
    await Promise.all([redis.set("a", 1), redis.set("b", 2), redis.incr("c"), redis.get("a")]);
    expect(bridge.stats.commands).toBe(4);
    expect(bridge.stats.httpRequests).toBeLessThan(4);
  });
});

describe("Lua scripts with shebang flags", () => {
  const script = `${FLAGGED}\nreturn {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}`;

  it("strips only the flags Redis does not know", () => {
    expect(stripUnknownScriptFlags(`${FLAGGED}\nreturn 1`)).toBe("#!lua flags=\nreturn 1");
    expect(stripUnknownScriptFlags("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    const untouched = "#!lua flags=no-writes,allow-oom\nreturn 1";
    expect(stripUnknownScriptFlags(untouched)).toBe(untouched);
    expect(stripUnknownScriptFlags("return 1")).toBe("return 1");
  });

  it("needs the bridge: stock Redis refuses the flag", async () => {
    await expect(direct.eval(script, 1, "k", "a")).rejects.toThrow(/Unexpected flag in script shebang/);
  });

  it("runs redis.eval of a flagged script", async () => {
    expect(await single.eval(script, ["k"], ["arg"])).toEqual(["k", "arg", 1]);
    expect(await redis.eval(script, ["k"], ["arg"])).toEqual(["k", "arg", 2]);
  });

  it("keeps the flags Redis knows: a no-writes script runs under EVAL_RO and may not write", async () => {
    const readOnly = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    await direct.set("ro", "value");
    expect(await single.evalRo(readOnly, ["ro"], [])).toBe("value");
    const writes = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('SET', KEYS[1], 'x')";
    await expect(single.eval(writes, ["ro"], [])).rejects.toThrow(/Write commands are not allowed/);
  });

  it("answers SCRIPT LOAD with the client's hash and runs EVALSHA / SCRIPT EXISTS with it", async () => {
    const clientSha = sha1Hex(script);
    expect(clientSha).not.toBe(sha1Hex(stripUnknownScriptFlags(script)));
    expect(await single.scriptLoad(script)).toBe(clientSha);
    expect(await single.evalsha(clientSha, ["k"], ["x"])).toEqual(["k", "x", 1]);
    expect(await redis.evalsha(clientSha.toUpperCase(), ["k"], ["x"])).toEqual(["k", "x", 2]);
    expect(await single.scriptExists(clientSha, "0".repeat(40))).toEqual([1, 0]);
  });

  it("leaves unflagged scripts and their hashes alone", async () => {
    const plain = "return ARGV[1]";
    expect(await single.scriptLoad(plain)).toBe(sha1Hex(plain));
    expect(await single.evalsha(sha1Hex(plain), [], ["hi"])).toBe("hi");
  });

  it("answers NOSCRIPT for an unknown hash, so clients fall back to EVAL", async () => {
    await expect(single.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
    // After Redis loses its scripts the client's hash must miss again rather than hit a stale mapping.
    await single.eval(script, ["k"], ["x"]);
    await direct.script("FLUSH");
    await expect(single.evalsha(sha1Hex(script), ["k"], ["x"])).rejects.toThrow(/NOSCRIPT/);
  });

  it("lets the SDK's Script helper go from EVAL (NOSCRIPT) to EVALSHA", async () => {
    const helper = single.createScript<[string, string, number]>(script);
    expect(await helper.exec(["k"], ["x"])).toEqual(["k", "x", 1]);
    expect(bridge.stats.commands).toBe(2); // EVALSHA missed, then EVAL
    expect(await helper.exec(["k"], ["x"])).toEqual(["k", "x", 2]);
    expect(bridge.stats.commands).toBe(3); // EVALSHA hit with the client's own hash
  });
});

describe("@upstash/ratelimit", () => {
  it("slidingWindow(5, '10 s') admits exactly 5 of 8 sequential calls, then EVALSHA hits", async () => {
    await awayFromWindowEdge(10_000);
    const rl = limiter(Ratelimit.slidingWindow(5, "10 s"), single);
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await rl.limit("user"));
    expect(results.map((r) => r.success)).toEqual([true, true, true, true, true, false, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
    // First call: EVALSHA (NOSCRIPT) + EVAL; the other 7: one EVALSHA each, found via the original hash.
    expect(bridge.stats.commands).toBe(9);
  });

  it.each([
    ["auto-pipelined", () => redis],
    ["one request per command", () => single],
  ])("slidingWindow(5, '10 s') admits exactly 5 of 12 concurrent calls (%s)", async (_name, client) => {
    await awayFromWindowEdge(10_000);
    const rl = limiter(Ratelimit.slidingWindow(5, "10 s"), client());
    const results = await Promise.all(Array.from({ length: 12 }, () => rl.limit("user")));
    expect(successes(results)).toBe(5);
    const again = await Promise.all(Array.from({ length: 12 }, () => rl.limit("user")));
    expect(successes(again)).toBe(0);
  });

  it("fixedWindow(3, '10 s') admits exactly 3, sequential and concurrent", async () => {
    await awayFromWindowEdge(10_000);
    const rl = limiter(Ratelimit.fixedWindow(3, "10 s"));
    const sequential = [];
    for (let i = 0; i < 5; i++) sequential.push(await rl.limit("seq"));
    expect(sequential.map((r) => r.success)).toEqual([true, true, true, false, false]);
    expect(successes(await Promise.all(Array.from({ length: 9 }, () => rl.limit("par"))))).toBe(3);
  });

  it("tokenBucket(1, '10 s', 4) admits exactly 4, sequential and concurrent", async () => {
    const rl = limiter(Ratelimit.tokenBucket(1, "10 s", 4));
    const sequential = [];
    for (let i = 0; i < 6; i++) sequential.push(await rl.limit("seq"));
    expect(sequential.map((r) => r.success)).toEqual([true, true, true, true, false, false]);
    expect(successes(await Promise.all(Array.from({ length: 10 }, () => rl.limit("par"))))).toBe(4);
  });

  it.each([
    ["slidingWindow", () => Ratelimit.slidingWindow(4, "10 s")],
    ["fixedWindow", () => Ratelimit.fixedWindow(4, "10 s")],
    ["tokenBucket", () => Ratelimit.tokenBucket(1, "10 s", 4)],
  ])(
    "%s: getRemaining follows the calls and resetUsedTokens restores the limit",
    async (_name, algorithm) => {
      await awayFromWindowEdge(10_000);
      const rl = limiter(algorithm());
      expect((await rl.getRemaining("u")).remaining).toBe(4);
      await rl.limit("u");
      await rl.limit("u");
      expect(await rl.getRemaining("u")).toMatchObject({ remaining: 2, limit: 4 });
      await rl.limit("u");
      await rl.limit("u");
      expect((await rl.limit("u")).success).toBe(false);
      expect((await rl.getRemaining("u")).remaining).toBe(0);
      await rl.resetUsedTokens("u");
      expect((await rl.getRemaining("u")).remaining).toBe(4);
      expect((await rl.limit("u")).success).toBe(true);
    },
  );
});

describe("when Redis goes away", () => {
  it("answers 503 JSON quickly, and recovers by itself when Redis is back", async () => {
    const dataDir = join(process.cwd(), ".cache", "test-redis-bridge-fault");
    rmSync(dataDir, { recursive: true, force: true });
    const port = await freePort();
    let server = await startRedisServer({ dataDir, persist: false, port });
    const own = await startUpstashBridge({ redisUrl: server.url, token: TOKEN });
    try {
      expect((await raw("/", ["SET", "k", "v"], { url: own.url })).json).toEqual({ result: "OK" });

      await server.stop();
      for (const [path, body] of [
        ["/", ["GET", "k"]],
        ["/pipeline", [["GET", "k"]]],
        ["/multi-exec", [["GET", "k"]]],
      ] as const) {
        const started = Date.now();
        const reply = await raw(path, body, { url: own.url });
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(reply.status).toBe(503);
        expect(reply.json).toEqual({ error: expect.stringMatching(/^ERR Redis is unavailable/) });
      }
      const client = new Redis({ url: own.url, token: TOKEN, retry: false, enableTelemetry: false });
      await expect(client.get("k")).rejects.toThrow(/Redis is unavailable/);

      server = await startRedisServer({ dataDir, persist: false, port });
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await raw("/", ["PING"], { url: own.url })).status;
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      expect(await client.set("k", "back")).toBe("OK");
      expect(await client.get("k")).toBe("back");
    } finally {
      await own.close();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("close() stops the HTTP server", async () => {
    const own = await startUpstashBridge({ redisUrl: inject("redisUrl"), token: TOKEN });
    expect((await raw("/", ["PING"], { url: own.url })).status).toBe(200);
    await own.close();
    await expect(fetch(own.url, { method: "POST", body: '["PING"]' })).rejects.toThrow();
  });
});
