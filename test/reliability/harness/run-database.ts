import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { createDatabase, dropDatabase } from "../../../scripts/stack/migrate.ts";

const DATABASE_PREFIX = "gw_rel_";

/**
 * A throwaway database for one run on the server at `serverUrl`, dropped by drop(); also dropped by a
 * detached process should the run exit without its teardown (vitest does on Ctrl-C), and by a later run
 * should it be killed outright.
 */
export async function createRunDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  await dropAbandonedDatabases(serverUrl);
  const name = `${DATABASE_PREFIX}${Date.now()}_${randomBytes(3).toString("hex")}`;
  const url = await createDatabase(serverUrl, name);
  const dropOnExit = () => {
    const script = join(import.meta.dirname, "drop-database.ts");
    spawn(process.execPath, [script, serverUrl, name], { detached: true, stdio: "ignore" }).unref();
  };
  process.once("exit", dropOnExit);
  return {
    url,
    async drop() {
      process.off("exit", dropOnExit);
      await dropDatabase(serverUrl, name);
    },
  };
}

/** Databases of runs killed outright (SIGKILL: no exit hook ran) more than 15 minutes ago. */
async function dropAbandonedDatabases(serverUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  let names: string[];
  try {
    const result = await client.query<{ datname: string }>(
      "select datname from pg_database where starts_with(datname, $1)",
      [DATABASE_PREFIX],
    );
    names = result.rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
  for (const name of names) {
    const startedAt = Number(/^gw_rel_(\d+)_/.exec(name)?.[1]);
    if (startedAt && Date.now() - startedAt > 15 * 60_000)
      await dropDatabase(serverUrl, name).catch(() => {});
  }
}
