import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { Config } from "../config";
import * as schema from "./schema";

export type Database = NeonDatabase<typeof schema>;

export interface DatabaseHandle {
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
  // A broken socket surfaces on the query that used it; this keeps an idle error from becoming uncaught.
  pool.on("error", () => {});
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}

/**
 * On the local stack the worker reaches a plain Postgres through a WebSocket-to-TCP proxy that speaks
 * Neon's protocol without TLS. In production (no NEON_WS_PROXY) Neon's own endpoint is used unchanged.
 */
function configureLocalProxy(proxy: string | undefined): void {
  if (!proxy) return;
  neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}
