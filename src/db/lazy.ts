import type { Config } from "../config";
import { type Database, openDatabase } from "./client";

export interface LazyDatabase {
  /** Opens the pool on first use: most gateway requests never touch Postgres. */
  get(): Database;
  /** Ends the pool if it was opened; pass to ctx.waitUntil. */
  close(): Promise<void>;
}

export function lazyDatabase(config: Config): LazyDatabase {
  let handle: ReturnType<typeof openDatabase> | undefined;
  return {
    get() {
      handle ??= openDatabase(config);
      return handle.db;
    },
    async close() {
      await handle?.close().catch(() => {});
    },
  };
}
