import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import type pg from "pg";
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

/** Every Redis key with its value as text (`name value`: strings, set members, hashes as JSON), 500 a scan. */
async function* redisEntries(): AsyncGenerator<{ name: string; text: string }> {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, names] = await redis.scan(cursor, "COUNT", 500);
      cursor = next;
      for (const name of names) {
        const type = await redis.type(name);
        const value =
          type === "string"
            ? ((await redis.get(name)) ?? "")
            : type === "set"
              ? (await redis.smembers(name)).join(" ")
              : type === "hash"
                ? JSON.stringify(await redis.hgetall(name))
                : "";
        yield { name, text: `${name} ${value}` };
      }
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Every column of the public schema that can hold text, with its table, and both escaped for a query. */
async function textColumns(db: pg.Client) {
  const columns = await db.query<{ table_name: string; column_name: string }>(
    "select table_name, column_name from information_schema.columns where table_schema = 'public' " +
      "and data_type in ('text', 'character varying', 'json', 'jsonb', 'character')",
  );
  return columns.rows.map(({ table_name: table, column_name: column }) => ({
    table,
    column,
    t: db.escapeIdentifier(table),
    c: db.escapeIdentifier(column),
  }));
}

// Portal accounts: the links mailed for verification, reset and invitation carry single-use tokens; they, and
// the passwords chosen with them, must appear nowhere but in the mail: not in any log line (the gateways' and
// the mail stand-in's), not in Postgres (account_tokens keeps SHA-256 only), not in Redis.
describe("secrets: portal account mails", () => {
  const gateway = env.gateways.a;
  const password = `reliability passphrase ${Date.now()}`;
  const newPassword = `reliability reset passphrase ${Date.now()}`;
  const email = `secrets-${Date.now()}@example.com`;
  const invited = `invited-${Date.now()}@example.com`;

  /** A browser-like visitor: cookies kept, Origin sent, the CSRF token of GET /portal/api/csrf. */
  async function visitor() {
    const jar = new Map<string, string>();
    const call = async (path: string, init: { method?: string; json?: unknown; csrf?: string } = {}) => {
      const headers: Record<string, string> = { Origin: gateway, "CF-Connecting-IP": "192.0.2.99" };
      if (jar.size > 0) headers.Cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
      if (init.csrf) headers["X-CSRF-Token"] = init.csrf;
      if (init.json !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(`${gateway}${path}`, {
        method: init.method ?? "GET",
        headers,
        body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair = ""] = line.split(";");
        const eq = pair.indexOf("=");
        jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      return response;
    };
    const csrf = ((await (await call("/portal/api/csrf")).json()) as { csrfToken: string }).csrfToken;
    return { call, csrf };
  }

  async function mailsTo(to: string, count: number) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const response = await fetch(`${env.mail.url}/__standin/emails?to=${encodeURIComponent(to)}`);
      const { emails } = (await response.json()) as { emails: Array<{ text: string; html: string }> };
      if (emails.length >= count || Date.now() > deadline) return emails;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  const tokensIn = (mails: Array<{ text: string }>) =>
    mails.flatMap((mail) =>
      [...mail.text.matchAll(/[?&]token=([A-Za-z0-9_-]{43})/g)].map((match) => match[1] as string),
    );

  it("no token, link or password of a sign-up, reset or invitation is in a log, a table or Redis", async () => {
    const mark = violationMark();
    const someone = await visitor();
    const signedUp = await someone.call("/portal/api/signup", {
      method: "POST",
      csrf: someone.csrf,
      json: { email, password },
    });
    expect(signedUp.status).toBe(202);
    const asker = await visitor();
    const reset = await asker.call("/portal/api/password/forgot", {
      method: "POST",
      csrf: asker.csrf,
      json: { email },
    });
    expect(reset.status).toBe(202);
    const invitation = await fetch(`${gateway}/admin/v1/invitations`, {
      method: "POST",
      headers: { Authorization: `Bearer ${env.adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ email: invited }),
    });
    expect(invitation.status).toBe(201);
    const mails = [...(await mailsTo(email, 2)), ...(await mailsTo(invited, 1))];
    const tokens = tokensIn(mails);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    // Use the reset link, so a password chosen through a link is in the mix too.
    const resetToken = tokensIn(await mailsTo(email, 2)).at(-1) as string;
    const used = await asker.call("/portal/api/password/reset", {
      method: "POST",
      csrf: asker.csrf,
      json: { token: resetToken, password: newPassword },
    });
    expect(used.status).toBe(204);
    // Log lines are written as they happen; give the processes a moment to flush.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const needles = [...tokens, password, newPassword, env.secrets.RESEND_API_KEY as string];
    const logFiles = readdirSync(env.runDir).filter((name) => name.endsWith(".log"));
    expect(logFiles).toContain("mail-standin.log");
    let lines = 0;
    for (const file of logFiles) {
      for (const line of readFileSync(join(env.runDir, file), "utf8").split("\n")) {
        lines += 1;
        const found = needles.filter((needle) => line.includes(needle));
        verify(found.length === 0, area, () => `${file}: a mail token or password in: ${line.slice(0, 160)}`);
      }
    }
    const standinLog = readFileSync(join(env.runDir, "mail-standin.log"), "utf8");
    expect(standinLog).toMatch(/accepted/);

    const tableHits = await withDatabase(async (db) => {
      const hits: string[] = [];
      for (const { table, column, t, c } of await textColumns(db)) {
        for (const needle of needles) {
          const rows = await db.query(`select 1 from ${t} where strpos(${c}::text, $1) > 0 limit 1`, [
            needle,
          ]);
          if (rows.rowCount) hits.push(`${table}.${column}`);
        }
      }
      const hashes = await db.query<{ token_hash: string }>("select token_hash from account_tokens");
      return { hits, hashes: new Set(hashes.rows.map((row) => row.token_hash)) };
    });
    verify(tableHits.hits.length === 0, area, () => `mail tokens in Postgres: ${tableHits.hits.join(", ")}`);
    const unhashed = tokens.filter((token) => !tableHits.hashes.has(sha256(token)));
    verify(unhashed.length === 0, area, () => `${unhashed.length} mailed tokens have no SHA-256 row`);

    for await (const { name, text } of redisEntries()) {
      const found = needles.filter((needle) => text.includes(needle));
      verify(found.length === 0, area, () => `Redis ${name} holds a mail token or password`);
    }
    measure("secrets: mail tokens checked", tokens.length);
    measure("secrets: log lines scanned for mail tokens", lines);
    expect(violationsSince(mark)).toEqual([]);
  }, 120_000);
});

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
        /contains (ADMIN_TOKEN|ORIGIN_SHARED_SECRET|STRIPE_|UPSTASH_|RESEND_|issued key)/.test(text),
      ),
    );
    measure("secrets: response bodies with a secret (all files)", leaks.length);
    expect(leaks).toEqual([]);
  });

  it("Postgres holds key hashes only: no text column anywhere holds a key, only the display prefix has its start", async () => {
    const mark = violationMark();
    const report = await withDatabase(async (db) => {
      const columns = await textColumns(db);
      const hits: string[] = [];
      for (const { table, column, t, c } of columns) {
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
      return { columns: columns.length, hits, hashes };
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
    let scanned = 0;
    for await (const { name, text } of redisEntries()) {
      scanned += 1;
      const found = [...secretsIn(text), ...(text.match(FULL_KEY_SHAPE) ?? [])];
      verify(found.length === 0, area, () => `Redis ${name}: ${found.join(", ")}`);
    }
    measure("secrets: Redis keys scanned", scanned);
    expect(violationsSince(mark)).toEqual([]);
  });
});
