import { neonConfig, Pool, type PoolClient } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../config";
import * as schema from "./schema";

export type Database = NeonDatabase<typeof schema>;

interface DatabaseHandle {
  db: Database;
  /** Ends the request's connections; pass to ctx.waitUntil so it runs after the response. */
  close(): Promise<void>;
}

/**
 * Opens a connection pool for one request. Workers forbid sharing I/O objects (the WebSocket) across
 * requests, so a pool never outlives the request that made it.
 */
export function openDatabase(config: Config): DatabaseHandle {
  configureLocalProxy(config.neonWsProxy);
  const pool = new Pool({ connectionString: config.databaseUrl, max: 5, connectionTimeoutMillis: 5000 });
  // A broken socket surfaces on the query (or transaction) that used it. Without listeners, the same error
  // is also emitted on the pool or the checked-out client and becomes an uncaught exception that crashes
  // the request into the runtime's plain-text 500 instead of our problem+json 503.
  pool.on("error", () => {});
  pool.on("connect", (client: PoolClient) => {
    client.on("error", () => {});
  });
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}

/**
 * On the local stack the worker reaches a plain Postgres through a WebSocket-to-TCP proxy that speaks
 * Neon's protocol without TLS. In production (no NEON_WS_PROXY) Neon's own endpoint is used unchanged.
 */
function configureLocalProxy(proxy: string | undefined): void {
  preferFetchUpgrade();
  if (!proxy) return;
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}

/**
 * The driver opens its WebSocket with `new WebSocket(url)` when it can, and falls back to Workers' own
 * `fetch(url, { headers: { Upgrade: "websocket" } })`. In workerd a refused `new WebSocket` also surfaces as
 * an uncaught exception, which fails the whole request with the runtime's plain-text 500 (and, in dev, an
 * error page echoing request headers); the fetch path reports the failure as a rejected promise the driver
 * handles. A constructor that declines sends the driver down that path.
 */
function preferFetchUpgrade(): void {
  neonConfig.webSocketConstructor = class UseFetchUpgrade {
    constructor() {
      throw new Error("open database WebSockets with fetch() instead");
    }
  } as unknown as typeof WebSocket;
}
