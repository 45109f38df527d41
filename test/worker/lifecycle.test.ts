import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Bindings } from "../../src/config";
import worker from "../../src/index";
import { runScheduledJobs } from "../../src/jobs/scheduled";
import { accountWithKey, admin, createAccount, createKey, gatewayWith, withKey } from "./support";

const HOUR = 3_600_000;

/** Moves the isolate's clock (the worker under test shares it); only Date is faked, timers stay real. */
function moveClockTo(time: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(time);
}
afterEach(() => {
  vi.useRealTimers();
});

const call = (key: string) => gatewayWith({}, "/v1/hello", withKey(key));

async function rotate(keyId: string, body: Record<string, unknown> = {}) {
  return admin(`/keys/${keyId}/rotate`, { method: "POST", json: body });
}

interface KeyView {
  id: string;
  name: string;
  status: string;
  expiresAt: string | null;
  rotatedToId: string | null;
  lastUsedAt: string | null;
}

async function keysOf(accountId: string): Promise<KeyView[]> {
  return ((await (await admin(`/accounts/${accountId}/keys`)).json()) as { keys: KeyView[] }).keys;
}

describe("rotation", () => {
  it("keeps both keys working during the overlap and only the new one after it, with no job involved", async () => {
    const { account, key, keyId } = await accountWithKey("pro");
    const start = Date.now();
    const response = await rotate(keyId);
    expect(response.status).toBe(201);
    const rotated = (await response.json()) as KeyView & { key: string; previous: KeyView };
    expect(rotated.key).toMatch(/^gw_test_/);
    expect(rotated.key).not.toBe(key);
    expect(rotated.name).toBe("test");
    expect(rotated.previous).toMatchObject({ id: keyId, rotatedToId: rotated.id, status: "active" });
    const overlapEnd = Date.parse(rotated.previous.expiresAt as string);
    expect(Math.abs(overlapEnd - (start + 72 * HOUR))).toBeLessThan(60_000);

    expect((await call(key)).status).toBe(200);
    expect((await call(rotated.key)).status).toBe(200);
    moveClockTo(overlapEnd - HOUR);
    expect((await call(key)).status).toBe(200);
    expect((await call(rotated.key)).status).toBe(200);
    moveClockTo(overlapEnd + 1000);
    expect((await call(key)).status).toBe(403);
    expect((await call(rotated.key)).status).toBe(200);
    const listed = await keysOf(account.id);
    expect(listed.find((k) => k.id === keyId)?.status).toBe("expired");
  });

  it("takes a custom overlap, and refuses one out of bounds", async () => {
    const { keyId } = await accountWithKey();
    expect((await rotate(keyId, { overlapHours: 721 })).status).toBe(400);
    expect((await rotate(keyId, { overlapHours: -1 })).status).toBe(400);
    const response = await rotate(keyId, { overlapHours: 1 });
    const { previous } = (await response.json()) as { previous: KeyView };
    expect(Math.abs(Date.parse(previous.expiresAt as string) - (Date.now() + HOUR))).toBeLessThan(60_000);
  });

  it("refuses to rotate a key that is already rotating, revoked, or unknown", async () => {
    const { keyId } = await accountWithKey();
    expect((await rotate(keyId)).status).toBe(201);
    const again = await rotate(keyId);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { type: string }).type).toBe("/problems/conflict");

    const other = await accountWithKey();
    expect((await admin(`/keys/${other.keyId}`, { method: "DELETE" })).status).toBe(204);
    expect((await rotate(other.keyId)).status).toBe(409);
    expect((await rotate("key_unknown000000000000")).status).toBe(404);
  });

  it("never lets a rotation extend a key's own earlier expiry", async () => {
    const account = await createAccount();
    const expiresAt = new Date(Date.now() + 2 * HOUR).toISOString();
    const issued = await createKey(account.id, { name: "short", expiresAt });
    const response = await rotate(issued.id);
    const rotated = (await response.json()) as KeyView & { previous: KeyView };
    expect(Date.parse(rotated.previous.expiresAt as string)).toBe(Date.parse(expiresAt));
    // The successor inherits the same lifetime.
    expect(Date.parse(rotated.expiresAt as string)).toBe(Date.parse(expiresAt));
  });
});

describe("expiry", () => {
  it("refuses an expired key at the edge before any scheduled job", async () => {
    const account = await createAccount();
    const expiresAt = Date.now() + 10 * HOUR;
    const issued = await createKey(account.id, { expiresAt: new Date(expiresAt).toISOString() });
    expect((await call(issued.key)).status).toBe(200);
    moveClockTo(expiresAt + 1);
    expect((await call(issued.key)).status).toBe(403);
    expect((await keysOf(account.id))[0]?.status).toBe("expired");
  });
});

describe("scheduled jobs", () => {
  it("retire expired keys once, however often they run", async () => {
    const account = await createAccount();
    const issued = await createKey(account.id, { expiresAt: new Date(Date.now() + HOUR).toISOString() });
    const later = new Date(Date.now() + 2 * HOUR);
    const [first, second] = await Promise.all([
      runScheduledJobs(env as Bindings, later),
      runScheduledJobs(env as Bindings, later),
    ]);
    const retired = [first, second].map((run) => run.find((job) => job.job === "retire-expired-keys"));
    expect(retired.every((job) => job?.ok)).toBe(true);
    const events = await auditOf(account.id);
    expect(
      events.filter((event) => event.action === "key.expired" && event.targetId === issued.id),
    ).toHaveLength(1);
    const listed = await keysOf(account.id);
    expect(listed[0]?.status).toBe("expired");
  });

  it("run from the worker's scheduled handler", async () => {
    const account = await createAccount();
    const issued = await createKey(account.id, { expiresAt: new Date(Date.now() + 1000).toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const ctx = {
      waitUntil: vi.fn(),
      passThroughOnException: vi.fn(),
      props: {},
    } as unknown as ExecutionContext;
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }),
      env,
      ctx,
    );
    const waits = (ctx.waitUntil as ReturnType<typeof vi.fn>).mock.calls.map(
      (call) => call[0] as Promise<unknown>,
    );
    await Promise.all(waits);
    expect((await keysOf(account.id)).find((k) => k.id === issued.id)?.status).toBe("expired");
  });
});

interface EventView {
  id: number;
  action: string;
  actor: { type: string; id: string | null };
  targetId: string;
  data: Record<string, unknown>;
}

async function auditOf(accountId: string, query = ""): Promise<EventView[]> {
  const response = await admin(`/accounts/${accountId}/events${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: EventView[] }).events;
}

describe("audit log", () => {
  it("records who created, rotated and revoked keys and changed the tier, newest first, in pages", async () => {
    const { account, keyId } = await accountWithKey("free");
    expect((await rotate(keyId)).status).toBe(201);
    expect((await admin(`/keys/${keyId}`, { method: "DELETE" })).status).toBe(204);
    expect(
      (await admin(`/accounts/${account.id}`, { method: "PATCH", json: { tier: "basic" } })).status,
    ).toBe(200);

    const events = await auditOf(account.id);
    expect(events.map((event) => event.action)).toEqual([
      "account.tier_changed",
      "key.revoked",
      "key.rotated",
      "key.created",
      "account.created",
    ]);
    expect(events.every((event) => event.actor.type === "admin")).toBe(true);
    expect(events[0]?.data).toEqual({ from: "free", to: "basic" });
    expect(events[2]?.targetId).toBe(keyId);

    const page = (await (await admin(`/accounts/${account.id}/events?limit=2`)).json()) as {
      events: EventView[];
      nextBefore: number;
    };
    expect(page.events).toHaveLength(2);
    const rest = await auditOf(account.id, `?before=${page.nextBefore}`);
    expect([...page.events, ...rest].map((event) => event.id)).toEqual(events.map((event) => event.id));
  });

  it("answers 404 for an unknown account", async () => {
    expect((await admin("/accounts/acct_unknown0000000000000/events")).status).toBe(404);
  });
});
