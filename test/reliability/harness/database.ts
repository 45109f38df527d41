import pg from "pg";
import { env } from "./environment.ts";

/** Runs `work` with a plain pg client on the run's database (the worker itself goes through the Neon proxy). */
export async function withDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Server sessions open on the run's database, other than the one asking. */
export function openSessions(): Promise<number> {
  return withDatabase(async (db) => {
    const result = await db.query(
      "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    return Number(result.rows[0]?.count);
  });
}

/**
 * Waits (at most `maxMs`) until at most `atMost` sessions are open on the run's database. The machine's
 * PostgreSQL is shared (max_connections is often 100): a file that makes many Postgres-backed requests
 * lets the sessions they hold drain before the next one starts, whatever the gateway does with them.
 */
export async function sessionsDrained(atMost = 4, maxMs = 25_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let open = await openSessions();
  while (open > atMost && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    open = await openSessions();
  }
  return open;
}
