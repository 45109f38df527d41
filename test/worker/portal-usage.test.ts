import { describe, expect, it } from "vitest";
import { monthWindow } from "../../src/gateway/month";
import { utcDay } from "../../src/lib/time";
import { gatewayWith, portalApi, portalDeveloper, redis, settleBackground, withKey } from "./support";

interface DayCounts {
  day: string;
  total: number;
  ok: number;
  rate_limited: number;
  quota: number;
}
interface Usage {
  keys: Array<{ keyId: string; name: string; series: DayCounts[] }>;
  total: DayCounts[];
  quota: { month: string; used: number; limit: number };
}

async function newKey(client: Awaited<ReturnType<typeof portalDeveloper>>["client"], name: string) {
  const response = await portalApi(client, "/keys", { method: "POST", json: { name } });
  return (await response.json()) as { id: string; key: string };
}

/** N calls through the gateway as clients make them, then the usage flush they leave behind. */
async function callApi(key: string, times: number) {
  for (let i = 0; i < times; i++) {
    const response = await gatewayWith({}, "/v1/hello", withKey(key), { background: "keep" });
    expect(response.status).toBe(200);
  }
  await settleBackground();
}

const today = () => utcDay(Date.now());

describe("portal usage", () => {
  it("counts exactly the requests made, per key and for the account, and this month's quota", async () => {
    const { client, accountId } = await portalDeveloper();
    const a = await newKey(client, "a");
    const b = await newKey(client, "b");
    await callApi(a.key, 7);
    await callApi(b.key, 3);

    const response = await portalApi(client, "/usage");
    expect(response.status).toBe(200);
    const usage = (await response.json()) as Usage;
    expect(usage.total).toHaveLength(30);
    expect(usage.total.at(-1)).toMatchObject({ day: today(), ok: 10, total: 10, rate_limited: 0, quota: 0 });
    const byKey = Object.fromEntries(usage.keys.map((key) => [key.keyId, key.series.at(-1)?.ok]));
    expect(byKey).toEqual({ [a.id]: 7, [b.id]: 3 });
    expect(usage.quota).toMatchObject({ month: monthWindow(Date.now()).id, used: 10, limit: 10_000 });
    expect(Number(await redis.get(`gw:quota:${accountId}:${usage.quota.month}`))).toBe(10);

    const one = (await (await portalApi(client, `/usage?keyId=${b.id}`)).json()) as Usage;
    expect(one.keys.map((key) => key.keyId)).toEqual([b.id]);
    expect(one.keys[0]?.series.at(-1)?.ok).toBe(3);

    // The page draws the same numbers: a bar per day (today's total), the summary line and the quota meter.
    const html = await (await client.fetch("/portal/usage")).text();
    expect(html).toContain(`data-day="${today()}" data-total="10"`);
    expect(html).toContain("10 requests from all your keys: 10 OK, 0 rate limited, 0 over quota.");
    expect(html).toMatch(/<meter id="quota-meter" min="0" max="10000" value="10"/);
    expect(html).toContain("10 of 10,000 requests used");
    expect(html).toMatch(/<svg class="chart"[^>]*role="img"/);
    const keyHtml = await (await client.fetch(`/portal/usage?key=${a.id}`)).text();
    expect(keyHtml).toContain(`data-day="${today()}" data-total="7"`);
    expect(keyHtml).toContain("Usage of key &quot;a&quot;");
  });

  it("shows a second developer none of the first's usage", async () => {
    const first = await portalDeveloper();
    const second = await portalDeveloper();
    const key = await newKey(first.client, "busy");
    await callApi(key.key, 4);

    const secondUsage = (await (await portalApi(second.client, "/usage")).json()) as Usage;
    expect(secondUsage.keys).toEqual([]);
    expect(secondUsage.total.every((day) => day.total === 0)).toBe(true);
    expect(secondUsage.quota.used).toBe(0);
    const page = await (await second.client.fetch("/portal/usage")).text();
    expect(page).toContain("0 requests from all your keys");
    expect(page).not.toContain(key.id);
    expect((await second.client.fetch(`/portal/usage?key=${key.id}`)).status).toBe(404);

    const firstUsage = (await (await portalApi(first.client, "/usage")).json()) as Usage;
    expect(firstUsage.total.at(-1)?.ok).toBe(4);
  });

  it("validates the range", async () => {
    const { client } = await portalDeveloper();
    expect((await portalApi(client, "/usage?from=2026-02-10&to=2026-02-01")).status).toBe(400);
    expect((await portalApi(client, "/usage?from=yesterday")).status).toBe(400);
  });
});
