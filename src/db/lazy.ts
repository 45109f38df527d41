import type { Config } from "../config";
import { type Database, openDatabase } from "./client";

export interface LazyDatabase {
  /** Opens the pool on first use: most gateway requests never touch Postgres. */
  get(): Database;
  /** Whether get() opened the pool: only then is there anything to close. */
  readonly opened: boolean;
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
    get opened() {
      return handle !== undefined;
    },
    async close() {
      await handle?.close().catch(() => {});
    },
  };
}
