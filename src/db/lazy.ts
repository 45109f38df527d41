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

/**
 * A request's Postgres pool, opened on first use. A class, not an object literal with getters: every
 * request makes one, and a literal's accessors are new closures each time.
 */
class RequestDatabase implements LazyDatabase {
  private handle: ReturnType<typeof openDatabase> | undefined;

  constructor(private readonly config: Config) {}

  get(): Database {
    this.handle ??= openDatabase(this.config);
    return this.handle.db;
  }

  get opened(): boolean {
    return this.handle !== undefined;
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => {});
  }
}

export function lazyDatabase(config: Config): LazyDatabase {
  return new RequestDatabase(config);
}
