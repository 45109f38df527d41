import { env } from "cloudflare:workers";
import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/config";
import { accounts } from "../../src/db/schema/accounts";
import { apiKeys } from "../../src/db/schema/api-keys";
import { auditEvents } from "../../src/db/schema/audit-events";
import { edgeOutbox } from "../../src/db/schema/edge-outbox";
import { runScheduledJobs } from "../../src/jobs/scheduled";
import { hashApiKey } from "../../src/keys/key-format";
import { revokeKey, rotateKey } from "../../src/keys/key-service";
import { redisKeys } from "../../src/store/layout";
import {
  accountWithKey,
  admin,
  createAccount,
  createKey,
  gateway,
  gatewayWith,
  problemOf,
  redis,
  withDatabase,
  withKey,
} from "./support";

/**
 * Issue 18, item 10 and its kind: a change Postgres committed must reach the edge whatever failed in between,
 * and the answer must say truthfully whether it was committed.
 */
const redisDown = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" } as Partial<Bindings>;

/** The real Redis client, except that writes (SET) fail as if Redis went away right after the commit. */
function redisFailingWrites(): Redis {
  return new Proxy(redis, {
    get(target, property, receiver) {
      if (property === "set")
        return () => Promise.reject(new TypeError("fetch failed: network connection lost"));
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function keyRow(id: string) {
  return withDatabase(async (db) => (await db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0]);
}

async function pendingOutbox(kind: "key" | "account", ref: string) {
  return withDatabase((db) =>
    db
      .select()
      .from(edgeOutbox)
      .where(and(eq(edgeOutbox.kind, kind), eq(edgeOutbox.ref, ref))),
  );
}

async function redisRecord(hash: string) {
  return redis.get<{ kind: string; status?: string }>(redisKeys.apiKey(hash));
}

describe("a revocation while Redis is down (issue 18.10)", () => {
  it("is refused with a 503 that truthfully says nothing was changed, and Postgres indeed holds no revocation", async () => {
    const { account, key: plaintext, keyId } = await accountWithKey();
    const key = { key: plaintext, id: keyId };
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(200);

    const refused = await gatewayWith(redisDown, `/admin/v1/keys/${key.id}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("Retry-After")).toBe("5");
    const problem = await problemOf(refused);
    expect(problem.detail).toMatch(/^Nothing was changed/);
    expect(problem.requestId).toEqual(expect.any(String));

    const row = await keyRow(key.id);
    expect(row?.status).toBe("active");
    const audits = await withDatabase((db) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.accountId, account.id), eq(auditEvents.action, "key.revoked"))),
    );
    expect(audits).toHaveLength(0);

    // The retry, with Redis back, revokes it everywhere at once.
    const revoked = await admin(`/keys/${key.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(403);
    expect((await redisRecord(await hashApiKey(key.key)))?.status).toBe("revoked");
  });

  it("a tier change and a rotation are refused the same way and leave Postgres as it was", async () => {
    const { account, keyId } = await accountWithKey("pro");
    const key = { id: keyId };
    const tier = await gatewayWith(redisDown, `/admin/v1/accounts/${account.id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ tier: "free" }),
    });
    expect(tier.status).toBe(503);
    expect((await problemOf(tier)).detail).toMatch(/^Nothing was changed/);
    const stored = await withDatabase(
      async (db) => (await db.select().from(accounts).where(eq(accounts.id, account.id)))[0],
    );
    expect(stored?.tier).toBe("pro");

    const rotation = await gatewayWith(redisDown, `/admin/v1/keys/${key.id}/rotate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ overlapHours: 0 }),
    });
    expect(rotation.status).toBe(503);
    expect((await problemOf(rotation)).detail).toMatch(/^Nothing was changed/);
    const row = await keyRow(key.id);
    expect(row?.rotatedToId).toBeNull();
    expect(row?.expiresAt).toBeNull();
  });
});

describe("a change committed while Redis fails after the commit (issue 18.10)", () => {
  it("is in force at the edge at once (its record went before the commit) and the outbox republishes it", async () => {
    const { key: plaintext, keyId } = await accountWithKey();
    const key = { key: plaintext, id: keyId };
    const hash = await hashApiKey(key.key);
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(200);
    expect((await redisRecord(hash))?.status).toBe("active");

    // The revoke commits; the publish after the commit fails: the service still answers with the change.
    const revoked = await withDatabase((db) =>
      revokeKey(
        { db, redis: redisFailingWrites(), keyEnvironment: "test", actor: { type: "admin" } },
        key.id,
      ),
    );
    expect(revoked.status).toBe("revoked");
    expect(await redisRecord(hash)).toBeNull();
    expect(await pendingOutbox("key", hash)).not.toHaveLength(0);

    // A Redis miss reads Postgres: refused from here on, whatever isolate memory held.
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await gatewayWith({}, "/v1/hello", withKey(key.key));
      if (attempt > 0) expect(response.status).toBe(403);
    }

    // The scheduled replay publishes the committed truth and only then forgets the row.
    await runScheduledJobs(env as Bindings, new Date());
    expect((await redisRecord(hash))?.status).toBe("revoked");
    expect(await pendingOutbox("key", hash)).toHaveLength(0);
  });

  it("a rotation whose publish failed: the old key's overlap end reaches Redis through the outbox", async () => {
    const { key: plaintext, keyId } = await accountWithKey();
    const key = { key: plaintext, id: keyId };
    const hash = await hashApiKey(key.key);
    const rotated = await withDatabase((db) =>
      rotateKey(
        { db, redis: redisFailingWrites(), keyEnvironment: "test", actor: { type: "admin" } },
        key.id,
        { overlapHours: 0 },
      ),
    );
    expect(rotated.previous.expiresAt).not.toBeNull();
    expect(await redisRecord(hash)).toBeNull();
    await runScheduledJobs(env as Bindings, new Date());
    const record = await redis.get<{ expiresAt: number | null }>(redisKeys.apiKey(hash));
    expect(record?.expiresAt).toBe(rotated.previous.expiresAt?.getTime());
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(403);
    expect((await gateway("/v1/hello", withKey(rotated.key))).status).toBe(200);
  });
});

describe("changes made outside the services (issue 18.10)", () => {
  it("an account deleted in Postgres: its keys stop working once the outbox is replayed", async () => {
    const account = await createAccount();
    const key = await createKey(account.id);
    const hash = await hashApiKey(key.key);
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(200);

    await withDatabase((db) => db.execute(sql`delete from accounts where id = ${account.id}`));
    expect(await pendingOutbox("account", account.id)).not.toHaveLength(0);
    expect(await pendingOutbox("key", hash)).not.toHaveLength(0);

    const outcomes = await runScheduledJobs(env as Bindings, new Date());
    expect(outcomes.find((outcome) => outcome.job === "replay-edge-outbox")?.ok).toBe(true);
    expect((await redisRecord(hash))?.kind).toBe("unknown");
    // The isolate may remember the key for its memory TTL; every request re-reads Redis and is refused.
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(403);
  });

  it("a key revoked by an operator's SQL is published by the replay; last-used writes leave no outbox rows", async () => {
    const { key: plaintext, keyId } = await accountWithKey();
    const key = { key: plaintext, id: keyId };
    const hash = await hashApiKey(key.key);
    await withDatabase(async (db) => {
      await db.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, key.id));
    });
    await runScheduledJobs(env as Bindings, new Date());
    await withDatabase(async (db) => {
      await db.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, key.id));
    });
    expect(await pendingOutbox("key", hash)).toHaveLength(0);

    await withDatabase((db) =>
      db.update(apiKeys).set({ status: "revoked", revokedAt: new Date() }).where(eq(apiKeys.id, key.id)),
    );
    expect(await pendingOutbox("key", hash)).toHaveLength(1);
    await runScheduledJobs(env as Bindings, new Date());
    expect((await redisRecord(hash))?.status).toBe("revoked");
    expect((await gateway("/v1/hello", withKey(key.key))).status).toBe(403);
  });
});
