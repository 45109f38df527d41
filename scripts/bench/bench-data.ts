import pg from "pg";
import { displayStart, generateApiKey, hashApiKey, newId } from "../../src/keys/key-format.ts";
import { RECORD_TTL_SECONDS, redisKeys } from "../../src/store/layout.ts";

/** One API key of the benchmark, with its own account (so no account's monthly quota is shared). */
export interface BenchKey {
  key: string;
  hash: string;
  keyId: string;
  accountId: string;
  tier: string;
}

export interface RestRedis {
  url: string;
  token: string;
}

/** Makes `count` keys of `tier` in the gateway's own format (test environment), not yet stored anywhere. */
export async function makeKeys(count: number, tier: string): Promise<BenchKey[]> {
  const keys: BenchKey[] = [];
  for (let i = 0; i < count; i++) {
    const key = generateApiKey("test");
    keys.push({ key, hash: await hashApiKey(key), keyId: newId("key"), accountId: newId("acct"), tier });
  }
  return keys;
}

const CHUNK = 10_000;

/**
 * Inserts the keys and their accounts straight into Postgres, in bulk (unnest of arrays: one statement per
 * 10,000 rows), the way an existing customer base would be there. Only the columns without defaults are set.
 */
export async function insertKeys(databaseUrl: string, keys: BenchKey[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let start = 0; start < keys.length; start += CHUNK) {
      const chunk = keys.slice(start, start + CHUNK);
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO accounts (id, email, tier)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
        [
          chunk.map((k) => k.accountId),
          chunk.map((k) => `bench-${k.accountId.toLowerCase()}@example.com`),
          chunk.map((k) => k.tier),
        ],
      );
      await client.query(
        `INSERT INTO api_keys (id, account_id, name, hash, start)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])`,
        [
          chunk.map((k) => k.keyId),
          chunk.map((k) => k.accountId),
          chunk.map(() => "bench"),
          chunk.map((k) => k.hash),
          chunk.map((k) => displayStart(k.key)),
        ],
      );
      await client.query("COMMIT");
    }
  } finally {
    await client.end();
  }
}

/** Sends commands through the Upstash bridge's /pipeline (untagged: not counted as the gateway's). */
export async function restPipeline(redis: RestRedis, commands: Array<Array<string | number>>) {
  const response = await fetch(`${redis.url}/pipeline`, {
    method: "POST",
    headers: { authorization: `Bearer ${redis.token}`, "content-type": "application/json" },
    body: JSON.stringify(commands),
  });
  if (!response.ok) throw new Error(`bridge /pipeline: HTTP ${response.status} ${await response.text()}`);
  const replies = (await response.json()) as Array<{ result?: unknown; error?: string }>;
  const failed = replies.find((reply) => reply.error);
  if (failed) throw new Error(`bridge /pipeline: ${failed.error}`);
  return replies.map((reply) => reply.result);
}

interface PublishedRecords {
  sample: BenchKey;
  key: Record<string, unknown>;
  account: Record<string, unknown>;
}

/**
 * Reads the key and account records the gateway itself published to Redis after looking `sample` up in
 * Postgres (record-store.ts), to use as the template for prefilling: the prefilled records are then exactly
 * what the gateway writes, whatever fields they gain later.
 */
export async function readPublishedRecords(redis: RestRedis, sample: BenchKey): Promise<PublishedRecords> {
  const [key, account] = await restPipeline(redis, [
    ["GET", redisKeys.apiKey(sample.hash)],
    ["GET", redisKeys.account(sample.accountId)],
  ]);
  if (typeof key !== "string" || typeof account !== "string") {
    throw new Error(
      "the gateway did not publish the records of a key it looked up (record-store.ts changed?)",
    );
  }
  return { sample, key: JSON.parse(key), account: JSON.parse(account) };
}

/**
 * Puts the records of `keys` into Redis as the gateway would have published them on first use (same shape,
 * same TTL). This is Redis at steady state, where every active key was looked up within the records' TTL;
 * reaching it through the gateway would take one Postgres lookup per key, minutes for 100,000 keys.
 */
export async function prefillRecords(redis: RestRedis, keys: BenchKey[], template: PublishedRecords) {
  const swap = (record: Record<string, unknown>, to: BenchKey) => {
    const replacements = new Map<unknown, unknown>([
      [template.sample.keyId, to.keyId],
      [template.sample.accountId, to.accountId],
      [template.sample.tier, to.tier],
    ]);
    return JSON.stringify(
      Object.fromEntries(
        Object.entries(record).map(([field, value]) => [field, replacements.get(value) ?? value]),
      ),
    );
  };
  const perRequest = 5_000;
  for (let start = 0; start < keys.length; start += perRequest) {
    const commands: Array<Array<string | number>> = [];
    for (const key of keys.slice(start, start + perRequest)) {
      commands.push(["SET", redisKeys.apiKey(key.hash), swap(template.key, key), "EX", RECORD_TTL_SECONDS]);
      commands.push([
        "SET",
        redisKeys.account(key.accountId),
        swap(template.account, key),
        "EX",
        RECORD_TTL_SECONDS,
      ]);
    }
    await restPipeline(redis, commands);
  }
}

/**
 * Keeps a key rate-limited for the next `minutes`: its sliding-window counters (the keys @upstash/ratelimit
 * reads, `gw:rl:{keyId}:{window}`) are set at the limit for every window from the previous one on. The
 * window slides forward during a run; without this the key would be admitted again about once a second and
 * the "blocked" phases would mix in admitted requests.
 */
export async function holdRateLimited(
  redis: RestRedis,
  keyId: string,
  limit: { requests: number; windowSeconds: number },
  minutes: number,
): Promise<void> {
  const windowMs = limit.windowSeconds * 1000;
  const current = Math.floor(Date.now() / windowMs);
  const windows = Math.ceil((minutes * 60_000) / windowMs) + 1;
  const commands: Array<Array<string | number>> = [];
  for (let index = current - 1; index <= current + windows; index++) {
    commands.push([
      "SET",
      `${redisKeys.rateLimitPrefix}:${keyId}:${index}`,
      limit.requests,
      "EX",
      minutes * 60 + 120,
    ]);
  }
  await restPipeline(redis, commands);
}
