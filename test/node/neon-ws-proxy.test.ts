import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, connect, createServer } from "node:net";
import { Client, neonConfig, Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WebSocket } from "ws";
import { createDatabase, dropDatabase } from "../../scripts/stack/migrate.ts";
import { type NeonWsProxy, startNeonWsProxy } from "../../scripts/stack/neon-ws-proxy.ts";
import { freePort } from "../../scripts/stack/net.ts";
import {
  bindMessage,
  executeMessage,
  frontendMessage,
  type PgMessage,
  PgMessageScanner,
  parseMessage,
  queryMessage,
  startupMessage,
} from "../../scripts/stack/pg-wire.ts";

const serverUrl = inject("postgresUrl");
const server = new URL(serverUrl);
const target = `${server.hostname}:${server.port || "5432"}`;
const databaseName = `neon_proxy_test_${randomBytes(4).toString("hex")}`;
let databaseUrl: string;
let proxy: NeonWsProxy;

beforeAll(async () => {
  databaseUrl = await createDatabase(serverUrl, databaseName);
  proxy = await startNeonWsProxy({ allowedTargets: [target] });
  neonConfig.webSocketConstructor = WebSocket;
  neonConfig.wsProxy = (host, port) => `${proxy.wsProxyBase}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
});

afterAll(async () => {
  await proxy?.close();
  if (databaseUrl) await dropDatabase(serverUrl, databaseName);
});

/** Runs `fn` with a direct (not proxied) connection, to look at the server from outside the proxy. */
async function direct<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function sessionsNamed(applicationName: string): Promise<number> {
  return direct(async (client) => {
    const result = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    return result.rows[0]?.n ?? -1;
  });
}

async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Settles with "pending" when `promise` has not settled within `ms`. */
async function stateAfter<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);
}

function scan(chunks: Uint8Array[], startupPhase: boolean): { messages: PgMessage[]; stopped: boolean } {
  const messages: PgMessage[] = [];
  const scanner = new PgMessageScanner({ startupPhase, onMessage: (m) => messages.push(m) });
  for (const chunk of chunks) scanner.push(chunk);
  return { messages, stopped: scanner.stopped };
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
/** Parse + Bind + Execute + Sync of a parameterless statement: one extended-protocol query. */
const extendedQuery = (text: string) =>
  Buffer.concat([parseMessage(text), bindMessage(), executeMessage(), frontendMessage("S")]);

describe("PgMessageScanner", () => {
  const stream = Buffer.concat([
    startupMessage({ user: "postgres", database: "postgres" }),
    queryMessage("SELECT 1"),
    extendedQuery("SELECT 2"),
    queryMessage(`SELECT '${"x".repeat(70_000)}'`),
    frontendMessage("X"),
  ]);
  const expected = ["startup", "Q", "P", "B", "E", "S", "Q", "X"];

  it("finds the same messages however the stream is chunked", () => {
    expect(scan([stream], true).messages.map((m) => m.type)).toEqual(expected);
    const bytes = [...stream].map((b) => Uint8Array.of(b));
    expect(scan(bytes, true).messages.map((m) => m.type)).toEqual(expected);
    const uneven: Uint8Array[] = [];
    for (let at = 0, n = 1; at < stream.length; at += n, n = ((n * 7 + 3) % 97) + 1) {
      uneven.push(stream.subarray(at, at + n));
    }
    expect(Buffer.concat(uneven).equals(stream)).toBe(true);
    expect(scan(uneven, true).messages.map((m) => m.type)).toEqual(expected);
  });

  it("recognizes startup-phase requests and reports ReadyForQuery's status byte", () => {
    const sslRequest = Buffer.concat([int32(8), int32(80877103)]);
    const cancel = Buffer.concat([int32(16), int32(80877102), int32(1), int32(2)]);
    const frontend = scan([sslRequest, cancel.subarray(0, 5), cancel.subarray(5)], true);
    expect(frontend.messages.map((m) => m.type)).toEqual(["ssl-request", "cancel-request"]);

    const readyInTransaction = Buffer.concat([Buffer.from("Z"), int32(5), Buffer.from("T")]);
    const backend = scan([readyInTransaction.subarray(0, 5), readyInTransaction.subarray(5)], false);
    expect(backend.messages).toEqual([{ type: "Z", length: 5, firstByte: "T".charCodeAt(0) }]);
  });

  it("gives up on bytes that cannot be Postgres framing", () => {
    const http = scan([Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")], true);
    expect(http).toEqual({ messages: [], stopped: true });
    const badLength = scan([Buffer.concat([Buffer.from("Q"), int32(2)])], false);
    expect(badLength.stopped).toBe(true);
  });
});

describe("neon ws proxy", () => {
  it("advertises a wsProxy base on its own port", () => {
    expect(proxy.wsProxyBase).toBe(`127.0.0.1:${proxy.port}/v2`);
  });

  it("runs simple and parameterized queries for the Neon Client, counting each", async () => {
    proxy.resetStats();
    const client = new Client(databaseUrl);
    await client.connect();
    try {
      expect(proxy.stats).toEqual({ connections: 1, queries: 0 });
      const simple = await client.query("SELECT 1 AS one, 'text' AS word");
      expect(simple.rows).toEqual([{ one: 1, word: "text" }]);
      const params = await client.query("SELECT $1::int + $2::int AS sum, $3::text AS echoed", [2, 3, "é ✓"]);
      expect(params.rows).toEqual([{ sum: 5, echoed: "é ✓" }]);
      expect(proxy.stats).toEqual({ connections: 1, queries: 2 });
    } finally {
      await client.end();
    }
  });

  it("carries transactions: a COMMIT keeps rows and a ROLLBACK discards them", async () => {
    const client = new Client(databaseUrl);
    await client.connect();
    try {
      await client.query("CREATE TABLE tx_items (label text NOT NULL)");
      proxy.resetStats();
      await client.query("BEGIN");
      await client.query("INSERT INTO tx_items (label) VALUES ($1)", ["committed"]);
      await client.query("COMMIT");
      await client.query("BEGIN");
      await client.query("INSERT INTO tx_items (label) VALUES ($1)", ["rolled back"]);
      const inside = await client.query("SELECT count(*)::int AS n FROM tx_items");
      expect(inside.rows[0].n).toBe(2);
      await client.query("ROLLBACK");
      const after = await client.query("SELECT label FROM tx_items ORDER BY label");
      expect(after.rows).toEqual([{ label: "committed" }]);
      expect(proxy.stats.queries).toBe(8);
    } finally {
      await client.end();
    }
    const seenDirectly = await direct((c) => c.query("SELECT label FROM tx_items"));
    expect(seenDirectly.rows).toEqual([{ label: "committed" }]);
  });

  it("serves several clients at once, each on its own server session", async () => {
    proxy.resetStats();
    const applicationName = `proxy_concurrent_${randomBytes(3).toString("hex")}`;
    const clients = Array.from(
      { length: 4 },
      () => new Client({ connectionString: databaseUrl, application_name: applicationName }),
    );
    await Promise.all(clients.map((c) => c.connect()));
    try {
      expect(await sessionsNamed(applicationName)).toBe(4);
      const perClient = await Promise.all(
        clients.map(async (client, k) => {
          const rows: Array<{ k: number; i: number; pid: number }> = [];
          for (let i = 0; i < 3; i++) {
            const result = await client.query("SELECT $1::int AS k, $2::int AS i, pg_backend_pid() AS pid", [
              k,
              i,
            ]);
            rows.push(result.rows[0]);
          }
          return rows;
        }),
      );
      const results = perClient.flat();
      expect(results.map((r) => `${r.k}.${r.i}`)).toEqual(
        [0, 1, 2, 3].flatMap((k) => [0, 1, 2].map((i) => `${k}.${i}`)),
      );
      expect(new Set(results.map((r) => r.pid)).size).toBe(4);
      expect(proxy.stats).toEqual({ connections: 4, queries: 12 });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it("serves a Pool's concurrent queries", async () => {
    proxy.resetStats();
    const pool = new Pool({ connectionString: databaseUrl, max: 3 });
    try {
      const values = Array.from({ length: 12 }, (_, i) => i * 10);
      const results = await Promise.all(values.map((v) => pool.query("SELECT $1::int * 2 AS doubled", [v])));
      expect(results.map((r) => r.rows[0].doubled)).toEqual(values.map((v) => v * 2));
      expect(proxy.stats.queries).toBe(12);
      expect(proxy.stats.connections).toBeGreaterThanOrEqual(1);
      expect(proxy.stats.connections).toBeLessThanOrEqual(3);
    } finally {
      await pool.end();
    }
  });

  it("serves drizzle-orm/neon-serverless", async () => {
    proxy.resetStats();
    const pool = new Pool({ connectionString: databaseUrl });
    try {
      const db = drizzle({ client: pool });
      const result = await db.execute<{ answer: number }>(sql`SELECT ${41}::int + 1 AS answer`);
      expect(result.rows).toEqual([{ answer: 42 }]);
      expect(proxy.stats).toEqual({ connections: 1, queries: 1 });
    } finally {
      await pool.end();
    }
  });

  it("counts messages split across and coalesced within WebSocket frames", async () => {
    proxy.resetStats();
    const ws = new WebSocket(`ws://${proxy.wsProxyBase}?address=${target}`);
    const backend: PgMessage[] = [];
    const scanner = new PgMessageScanner({ startupPhase: false, onMessage: (m) => backend.push(m) });
    ws.on("message", (data: Buffer) => scanner.push(data));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const readyCount = () => backend.filter((m) => m.type === "Z").length;
    try {
      const startup = startupMessage({ user: server.username || "postgres", database: databaseName });
      for (const piece of [startup.subarray(0, 3), startup.subarray(3, 11), startup.subarray(11)])
        ws.send(piece);
      await eventually(() => readyCount() === 1, "ReadyForQuery after startup");

      ws.send(Buffer.concat([queryMessage("SELECT 1"), queryMessage("SELECT 2")]));
      const split = queryMessage("SELECT 3");
      for (const byte of split) ws.send(Uint8Array.of(byte));
      const extended = extendedQuery("SELECT 4");
      ws.send(extended.subarray(0, extended.length - 9));
      ws.send(extended.subarray(extended.length - 9));
      await eventually(() => readyCount() === 5, "ReadyForQuery after four queries");

      expect(backend.filter((m) => m.type === "E")).toEqual([]);
      expect(backend.filter((m) => m.type === "D")).toHaveLength(4);
      expect(proxy.stats).toEqual({ connections: 1, queries: 4 });
    } finally {
      ws.close();
    }
  });

  it("refuses targets outside the allow-list, and malformed requests", async () => {
    proxy.resetStats();
    const upgradeStatus = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}${path}`);
        ws.once("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once("open", () => {
          ws.terminate();
          reject(new Error(`${path} was accepted`));
        });
        ws.once("error", () => {});
      });
    for (const address of [
      "127.0.0.1:5433",
      "127.0.0.1:22",
      "localhost:5432",
      "10.0.0.1:5432",
      "example.com:443",
    ]) {
      expect(await upgradeStatus(`/v2?address=${address}`), address).toBe(403);
    }
    expect(await upgradeStatus(`/elsewhere?address=${target}`)).toBe(404);
    expect(await upgradeStatus("/v2")).toBe(400);
    expect(await upgradeStatus("/v2?address=127.0.0.1")).toBe(400);

    const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:5433/postgres` });
    client.on("error", () => {});
    await expect(client.connect()).rejects.toThrow(/403/);
    expect(proxy.stats).toEqual({ connections: 0, queries: 0 });
  });

  it("accepts the bare / path too", async () => {
    const client = new Client(databaseUrl);
    client.neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxy.port}/?address=${host}:${port}`;
    await client.connect();
    try {
      expect((await client.query("SELECT 7 AS seven")).rows).toEqual([{ seven: 7 }]);
    } finally {
      await client.end();
    }
  });

  it("closes the WebSocket with 1011 when the allowed server cannot be reached", async () => {
    const nobodyPort = await freePort();
    const own = await startNeonWsProxy({ allowedTargets: [`127.0.0.1:${nobodyPort}`] });
    try {
      const ws = new WebSocket(`ws://${own.wsProxyBase}?address=127.0.0.1:${nobodyPort}`);
      const [code, reason] = (await once(ws, "close")) as [number, Buffer];
      expect(code).toBe(1011);
      expect(reason.toString()).toMatch(/ECONNREFUSED/);
    } finally {
      await own.close();
    }
  });

  it("hangs up on the server after Terminate, for servers that wait for the client to do it", async () => {
    // Like PGlite's socket server: ignores Terminate, closes only once the client's side has ended.
    const upstreamEnded = Promise.withResolvers<void>();
    const silent = createServer((socket) => {
      socket.on("error", () => {});
      socket.on("end", () => upstreamEnded.resolve());
      socket.resume();
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const silentPort = (silent.address() as AddressInfo).port;
    const own = await startNeonWsProxy({ allowedTargets: [`127.0.0.1:${silentPort}`] });
    try {
      const ws = new WebSocket(`ws://${own.wsProxyBase}?address=127.0.0.1:${silentPort}`);
      await once(ws, "open");
      const wsClosed = once(ws, "close");
      ws.send(Buffer.concat([startupMessage({ user: "postgres" }), frontendMessage("X")]));
      expect(await stateAfter(upstreamEnded.promise, 2000)).not.toBe("pending");
      const [code] = await wsClosed;
      expect(code).toBe(1000);
    } finally {
      await own.close();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("closes its open connections, on both sides, when it closes", async () => {
    const own = await startNeonWsProxy({ allowedTargets: [target] });
    const applicationName = `proxy_close_${randomBytes(3).toString("hex")}`;
    const client = new Client({ connectionString: databaseUrl, application_name: applicationName });
    client.neonConfig.wsProxy = (host, port) => `${own.wsProxyBase}?address=${host}:${port}`;
    let clientEnded = false;
    const errors: Error[] = [];
    client.on("end", () => {
      clientEnded = true;
    });
    client.on("error", (error) => errors.push(error));
    try {
      await client.connect();
      expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
      expect(await sessionsNamed(applicationName)).toBe(1);

      await own.close();

      await eventually(() => clientEnded, "the client to see its connection end");
      expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/terminated/i)]);
      await expect(client.query("SELECT 1")).rejects.toThrow();
      await eventually(async () => (await sessionsNamed(applicationName)) === 0, "the server session to end");
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(own.port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve(false);
        });
        socket.once("error", () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      await own.close();
      // end() on a client whose connection already ended waits for an "end" event that never comes again.
      if (!clientEnded) await client.end();
    }
  });
});
