import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, neonConfig, Pool } from "@neondatabase/serverless";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../scripts/stack/embedded-postgres.ts";
import { startNeonWsProxy } from "../../scripts/stack/neon-ws-proxy.ts";
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

// A fresh data directory costs an initdb inside WebAssembly: seconds, not milliseconds.
const STARTUP_TIMEOUT_MS = 60_000;

let dataDir: string;
let postgres: EmbeddedPostgres;
const openedClients: pg.Client[] = [];
const rawSockets: Socket[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "embedded-postgres-test-"));
  postgres = await startEmbeddedPostgres({ dataDir });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  for (const socket of rawSockets) socket.destroy();
  await Promise.all(openedClients.map((c) => c.end().catch(() => {})));
  await postgres?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, STARTUP_TIMEOUT_MS);

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 5000 });
  openedClients.push(c);
  c.on("error", () => {});
  await c.connect();
  return c;
}

async function closeClient(c: pg.Client): Promise<void> {
  openedClients.splice(openedClients.indexOf(c), 1);
  await c.end();
}

/** Settles with "pending" when `promise` has not settled within `ms`. */
async function stateAfter<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);
}

/** A hand-driven protocol connection, to put the server in states client libraries never leave it in. */
async function rawConnection() {
  const socket = connect(postgres.port, postgres.host);
  rawSockets.push(socket);
  socket.on("error", () => {});
  const received: PgMessage[] = [];
  const scanner = new PgMessageScanner({ startupPhase: false, onMessage: (m) => received.push(m) });
  socket.on("data", (data: Buffer) => scanner.push(data));
  const readyCount = () => received.filter((m) => m.type === "Z").length;
  const waitForReady = async (count: number) => {
    const deadline = Date.now() + 5000;
    while (readyCount() < count) {
      if (Date.now() > deadline)
        throw new Error(`no ReadyForQuery #${count}: got ${received.map((m) => m.type)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  socket.write(startupMessage({ user: "postgres", database: "postgres" }));
  await waitForReady(1);
  const startupLength = received.length;
  return { socket, received, waitForReady, sinceStartup: () => received.slice(startupLength) };
}

describe("embedded Postgres (PGlite over pglite-socket)", () => {
  it("reports a loopback URL for the port it listens on", () => {
    expect(postgres.host).toBe("127.0.0.1");
    expect(postgres.port).toBeGreaterThan(0);
    expect(postgres.url).toBe(`postgres://postgres@127.0.0.1:${postgres.port}/postgres`);
  });

  it("serves connections one after another", async () => {
    for (let i = 0; i < 6; i++) {
      const c = await client();
      const result = await c.query("SELECT $1::int AS round", [i]);
      expect(result.rows).toEqual([{ round: i }]);
      await closeClient(c);
    }
  });

  it("serves several connections open at the same time, each getting its own results", async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => client()));
    // Parameters above 64 KiB reach the server in several TCP reads, which is when another connection's
    // messages used to slip in between this one's Parse and Bind.
    const big = 100_000;
    const results = await Promise.all(
      clients.map(async (c, k) => {
        const rows: unknown[] = [];
        for (let i = 0; i < 4; i++) {
          const result = await c.query(`SELECT $1::int AS i, length($2::text) AS len, ${k} AS k`, [
            i,
            "x".repeat(big),
          ]);
          rows.push(...result.rows);
        }
        return rows;
      }),
    );
    expect(results).toEqual([0, 1, 2, 3, 4].map((k) => [0, 1, 2, 3].map((i) => ({ i, len: big, k }))));
    await Promise.all(clients.map(closeClient));
  });

  it("keeps another connection out between one connection's Parse and its Sync", async () => {
    // Connected first: while the session is held, even a new connection's startup waits.
    const other = await client();
    const raw = await rawConnection();
    try {
      raw.socket.write(parseMessage("SELECT 111 AS mine"));
      await new Promise((r) => setTimeout(r, 100));
      const otherQuery = other.query("SELECT $1::int AS theirs", [222]);
      expect(await stateAfter(otherQuery, 300)).toBe("pending");

      raw.socket.write(Buffer.concat([bindMessage(), executeMessage(), frontendMessage("S")]));
      await raw.waitForReady(2);
      // ParseComplete, BindComplete, DataRow, CommandComplete, ReadyForQuery: no ErrorResponse ("E").
      expect(raw.sinceStartup().map((m) => m.type)).toEqual(["1", "2", "D", "C", "Z"]);
      expect((await otherQuery).rows).toEqual([{ theirs: 222 }]);
    } finally {
      raw.socket.destroy();
      await closeClient(other);
    }
  });

  it("serializes transactions: another connection waits for COMMIT, then sees the committed row", async () => {
    const a = await client();
    const b = await client();
    await a.query("CREATE TABLE serialized (n int)");
    await a.query("BEGIN");
    await a.query("INSERT INTO serialized VALUES (1)");
    const read = b.query("SELECT count(*)::int AS n FROM serialized");
    expect(await stateAfter(read, 300)).toBe("pending");
    await a.query("COMMIT");
    expect((await read).rows).toEqual([{ n: 1 }]);
    await Promise.all([closeClient(a), closeClient(b)]);
  });

  it("rolls back and releases the session when a connection vanishes mid-transaction or mid-exchange", async () => {
    const setup = await client();
    await setup.query("CREATE TABLE abandoned (n int)");

    const inTransaction = await rawConnection();
    inTransaction.socket.write(queryMessage("BEGIN; INSERT INTO abandoned VALUES (1)"));
    await inTransaction.waitForReady(2);
    inTransaction.socket.destroy();

    const midExchange = await rawConnection();
    midExchange.socket.write(
      Buffer.concat([parseMessage("INSERT INTO abandoned VALUES (2)"), bindMessage(), executeMessage()]),
    );
    await new Promise((r) => setTimeout(r, 100));
    midExchange.socket.destroy();

    const failedExchange = await rawConnection();
    failedExchange.socket.write(parseMessage("SELECT no_such_column"));
    await new Promise((r) => setTimeout(r, 100));
    failedExchange.socket.destroy();

    const count = setup.query("SELECT count(*)::int AS n FROM abandoned");
    expect(await stateAfter(count, 5000)).toMatchObject({ rows: [{ n: 0 }] });
    expect((await setup.query("SELECT $1::text AS still", ["usable"])).rows).toEqual([{ still: "usable" }]);
    await closeClient(setup);
  });

  it("serves the Neon driver through the WebSocket proxy", async () => {
    const proxy = await startNeonWsProxy({ allowedTargets: [`${postgres.host}:${postgres.port}`] });
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.wsProxy = (host, port) => `${proxy.wsProxyBase}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    // Connects lazily: nothing to clean up until the first query.
    const pool = new Pool({ connectionString: postgres.url, max: 4 });
    try {
      // PGlite ignores Terminate: unless the proxy hangs up for it, the driver's end() never resolves.
      for (let i = 0; i < 3; i++) {
        const c = new Client(postgres.url);
        await c.connect();
        expect((await c.query("SELECT $1::int AS round", [i])).rows).toEqual([{ round: i }]);
        await c.end();
      }

      const values = Array.from({ length: 8 }, (_, i) => i);
      const results = await Promise.all(values.map((v) => pool.query("SELECT $1::int + 100 AS v", [v])));
      expect(results.map((r) => r.rows[0].v)).toEqual(values.map((v) => v + 100));

      const tx = await pool.connect();
      try {
        await tx.query("CREATE TABLE via_neon (label text)");
        await tx.query("BEGIN");
        await tx.query("INSERT INTO via_neon VALUES ($1)", ["kept"]);
        await tx.query("COMMIT");
        await tx.query("BEGIN");
        await tx.query("INSERT INTO via_neon VALUES ($1)", ["dropped"]);
        await tx.query("ROLLBACK");
        expect((await tx.query("SELECT label FROM via_neon")).rows).toEqual([{ label: "kept" }]);
      } finally {
        tx.release();
      }
      expect(proxy.stats.connections).toBeGreaterThanOrEqual(4);
      expect(proxy.stats.queries).toBe(3 + 8 + 8);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });

  it(
    "keeps its data across a restart on the same directory",
    async () => {
      const writer = await client();
      await writer.query("CREATE TABLE survives (label text)");
      await writer.query("INSERT INTO survives VALUES ($1), ($2)", ["first", "second"]);
      await closeClient(writer);

      await postgres.close();
      postgres = await startEmbeddedPostgres({ dataDir });

      const reader = await client();
      const result = await reader.query("SELECT label FROM survives ORDER BY label");
      expect(result.rows).toEqual([{ label: "first" }, { label: "second" }]);
      await closeClient(reader);
    },
    STARTUP_TIMEOUT_MS,
  );
});
