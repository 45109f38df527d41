import { Redis } from "@upstash/redis/cloudflare";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CommandBatch } from "../../src/store/command-batch";

// The batch against Upstash's REST protocol (POST /pipeline, one reply per command): the HTTP server is a
// stand-in function here, the client and the batch are the real ones.

afterEach(() => vi.unstubAllGlobals());

function upstashAnswering(replies: (commands: unknown[][]) => unknown) {
  const requests: Array<{ url: string; commands: unknown[][] }> = [];
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    const commands = JSON.parse(String(init.body)) as unknown[][];
    requests.push({ url, commands });
    const body = replies(commands);
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  return requests;
}

const redis = () =>
  new Redis({
    url: "https://redis.test",
    token: "t",
    responseEncoding: false,
    retry: false,
    enableTelemetry: false,
  });

describe("CommandBatch", () => {
  it("sends every queued command in one pipeline request and settles each with its own reply", async () => {
    const requests = upstashAnswering((commands) =>
      commands.map((command) => (command[1] === "bad" ? { error: "WRONGTYPE" } : { result: 7 })),
    );
    const batch = new CommandBatch(redis());
    const first = batch.add<number>((pipeline) => pipeline.incr("a"));
    const failing = batch.add<number>((pipeline) => pipeline.incr("bad"));
    await batch.execute();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe("https://redis.test/pipeline");
    expect(requests[0]?.commands).toEqual([
      ["incr", "a"],
      ["incr", "bad"],
    ]);
    expect(await first).toBe(7);
    await expect(failing).rejects.toThrow("Command failed: WRONGTYPE");
  });

  it("runs a command added after the batch left on its own", async () => {
    const requests = upstashAnswering((commands) => commands.map(() => ({ result: 1 })));
    const batch = new CommandBatch(redis());
    await batch.execute();
    expect(requests).toHaveLength(0); // nothing queued: no request at all
    expect(await batch.add<number>((pipeline) => pipeline.incr("late"))).toBe(1);
    expect(requests).toHaveLength(1);
  });

  it("fails every command, and the execute, when the request fails", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("network connection lost");
    });
    const batch = new CommandBatch(redis());
    const reply = batch.add((pipeline) => pipeline.get("a"));
    await expect(batch.execute()).rejects.toThrow("network connection lost");
    await expect(reply).rejects.toThrow("network connection lost");
  });
});
