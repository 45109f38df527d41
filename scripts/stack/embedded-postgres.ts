import { mkdirSync } from "node:fs";
import { isIPv6 } from "node:net";
import { type ExecProtocolOptionsStream, PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { type PgMessage, PgMessageScanner } from "./pg-wire.ts";

export interface EmbeddedPostgresOptions {
  /** Where the database files live; created if missing, reused (with its data) on the next start. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

// pglite-socket's default is 1, and it applies it twice: its own handler count (an excess client gets the
// non-protocol text "Too many connections") and net.Server.maxConnections (an excess socket is dropped at
// accept). A pool's idle connection, or a closed one whose close event has not been handled yet (pglite-socket
// defers it with setImmediate), then makes the next connect fail with "Connection terminated unexpectedly".
const MAX_CONNECTIONS = 64;
const READY_FOR_QUERY = "Z";
const TRANSACTION_IDLE = "I".charCodeAt(0);

/**
 * Starts PGlite (Postgres compiled to WebAssembly, in this process) on `dataDir` and serves it over TCP with
 * pglite-socket, for machines without a Postgres server.
 *
 * What it cannot do, because PGlite is ONE backend session that all connections share:
 * - Nothing runs in parallel. pglite-socket queues every protocol message and runs them one at a time.
 * - While one connection is inside a transaction (or between an extended-protocol Parse and its Sync),
 *   every other connection waits, including a new connection's startup. Concurrent transactions are
 *   therefore serialized, and code that opens a second connection inside a transaction and waits for it
 *   deadlocks (until the first connection goes away, which rolls its transaction back).
 * - Session state is shared: SET, temporary tables, named prepared statements and LISTEN made by one
 *   connection are seen by all of them, and a NOTIFY reaches whichever connection happens to be running.
 * - One database and one role: the database and user named when connecting are ignored. No TLS,
 *   no authentication (anyone who can reach the port is superuser, so keep it on loopback), no
 *   cancel requests (pg_cancel_backend / client-side query cancel do nothing).
 * - At most MAX_CONNECTIONS connections at once.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  mkdirSync(opts.dataDir, { recursive: true });
  const db = new SessionAwarePGlite(opts.dataDir);
  await db.waitReady;
  const host = opts.host ?? "127.0.0.1";
  const server = new PGLiteSocketServer({ db, host, port: opts.port ?? 0, maxConnections: MAX_CONNECTIONS });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  // getServerConn() is "host:port" with the port the OS picked; the host may itself contain colons (IPv6).
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(":") + 1));
  let closing: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${isIPv6(host) ? `[${host}]` : host}:${port}/postgres`,
    host,
    port,
    close() {
      closing ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return closing;
    },
  };
}

/**
 * pglite-socket keeps other connections' messages out of the shared session only while
 * `db.isInTransaction()` says so, which is true inside BEGIN ... COMMIT but not between an
 * extended-protocol Parse and its Sync: a query whose messages reach the server in more than one
 * TCP read (large parameters, > 64 KiB) could have another client's Parse replace its unnamed
 * statement, and both clients got each other's results without any error. Here the session
 * counts as held until Postgres last answered ReadyForQuery with status idle, which covers both.
 */
class SessionAwarePGlite extends PGlite {
  #held = false;

  override isInTransaction(): boolean {
    return this.#held || super.isInTransaction();
  }

  override async execProtocolRawStream(
    message: Uint8Array,
    options: ExecProtocolOptionsStream,
  ): Promise<void> {
    let last: PgMessage | undefined;
    const scanner = new PgMessageScanner({ startupPhase: false, onMessage: (m) => (last = m) });
    await super.execProtocolRawStream(message, {
      ...options,
      onRawData: (data) => {
        scanner.push(data);
        options.onRawData(data);
      },
    });
    // No output (Flush, CopyData, Terminate) leaves the session as it was.
    if (last) this.#held = !(last.type === READY_FOR_QUERY && last.firstByte === TRANSACTION_IDLE);
  }
}
