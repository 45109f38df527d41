import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { withDatabase } from "./harness/database.ts";
import { env } from "./harness/environment.ts";
import {
  FIGURES_FILE,
  type FileFigures,
  measure,
  verify,
  violationMark,
  violationsSince,
} from "./harness/figures.ts";
import { FULL_KEY_SHAPE, readIssuedKeys, secretsIn } from "./harness/secrets.ts";

// Last file (harness/name-sequencer.ts): every other file has run, its gateways' logs are on disk, its keys in the ledger.
const area = "secrets";
const issued = readIssuedKeys(env.runDir);
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("secrets: after the whole suite", () => {
  it("no log line of any gateway process holds a secret, an issued key, or any full API key in the worker's own lines", () => {
    const mark = violationMark();
    let lines = 0;
    for (const file of readdirSync(env.runDir).filter((name) => name.endsWith(".log"))) {
      for (const line of readFileSync(join(env.runDir, file), "utf8").split("\n")) {
        lines += 1;
        const found = secretsIn(line);
        verify(found.length === 0, area, () => `${file}: ${found.join(", ")} in: ${line.slice(0, 160)}`);
        // The worker's structured lines (JSON) must not carry any key, issued or made up: the logger redacts.
        if (line.includes('{"level"')) {
          const keys = line.match(FULL_KEY_SHAPE) ?? [];
          verify(
            keys.length === 0,
            area,
            () => `${file}: a full API key in the worker's log: ${line.slice(0, 160)}`,
          );
        }
      }
    }
    measure("secrets: log lines scanned", lines);
    measure("secrets: issued keys checked", issued.length);
    expect(lines).toBeGreaterThan(1000);
    expect(issued.length).toBeGreaterThan(10);
    expect(violationsSince(mark)).toEqual([]);
  });

  it("no response body of the run held a secret or someone's key: the counts from every file", () => {
    // Each file checked every body it received (harness/client.ts, hostile.ts) against the secrets known then.
    const files = readFileSync(join(env.runDir, FIGURES_FILE), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as FileFigures);
    const leaks = files.flatMap((file) =>
      file.violations.filter((text) =>
        /contains (ADMIN_TOKEN|ORIGIN_SHARED_SECRET|STRIPE_|UPSTASH_|issued key)/.test(text),
      ),
    );
    measure("secrets: response bodies with a secret (all files)", leaks.length);
    expect(leaks).toEqual([]);
  });

  it("Postgres holds key hashes only: no text column anywhere holds a key, only the display prefix has its start", async () => {
    const mark = violationMark();
    const report = await withDatabase(async (db) => {
      const columns = await db.query<{ table_name: string; column_name: string }>(
        "select table_name, column_name from information_schema.columns where table_schema = 'public' " +
          "and data_type in ('text', 'character varying', 'json', 'jsonb', 'character')",
      );
      const hits: string[] = [];
      for (const { table_name: table, column_name: column } of columns.rows) {
        const t = db.escapeIdentifier(table);
        const c = db.escapeIdentifier(column);
        const rows = await db.query<{ value: string }>(
          `select ${c}::text as value from ${t} where ${c}::text ~ 'gw_(test|live)_'`,
        );
        for (const { value } of rows.rows) {
          const displayPrefix =
            table === "api_keys" && column === "start" && value.length <= "gw_test_".length + 4;
          if (!displayPrefix || FULL_KEY_SHAPE.test(value))
            hits.push(`${table}.${column}: ${value.slice(0, 40)}`);
          FULL_KEY_SHAPE.lastIndex = 0;
        }
      }
      const hashes = new Set(
        (await db.query<{ hash: string }>("select hash from api_keys")).rows.map((row) => row.hash),
      );
      return { columns: columns.rows.length, hits, hashes };
    });
    measure("secrets: text columns scanned", report.columns);
    verify(
      report.hits.length === 0,
      area,
      () => `key material in Postgres: ${report.hits.slice(0, 5).join("; ")}`,
    );
    const unhashed = issued.filter((key) => !report.hashes.has(sha256(key)));
    verify(
      unhashed.length === 0,
      area,
      () => `${unhashed.length} issued keys have no SHA-256 row in api_keys`,
    );
    expect(violationsSince(mark)).toEqual([]);
  });

  it("Redis holds key hashes only: no key name or value holds a key or a secret", async () => {
    const mark = violationMark();
    const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
    let scanned = 0;
    try {
      let cursor = "0";
      do {
        const [next, names] = await redis.scan(cursor, "COUNT", 500);
        cursor = next;
        for (const name of names) {
          scanned += 1;
          const type = await redis.type(name);
          const value =
            type === "string"
              ? ((await redis.get(name)) ?? "")
              : type === "hash"
                ? JSON.stringify(await redis.hgetall(name))
                : "";
          const text = `${name} ${value}`;
          const found = [...secretsIn(text), ...(text.match(FULL_KEY_SHAPE) ?? [])];
          verify(found.length === 0, area, () => `Redis ${name}: ${found.join(", ")}`);
        }
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
    measure("secrets: Redis keys scanned", scanned);
    expect(violationsSince(mark)).toEqual([]);
  });
});
