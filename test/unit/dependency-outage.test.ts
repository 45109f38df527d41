import { describe, expect, it } from "vitest";
import { isDependencyOutage } from "../../src/lib/dependency-outage";

describe("isDependencyOutage", () => {
  it("knows a store that cannot answer, however deep the driver wrapped it", () => {
    const wrapped = new Error("Failed query: select 1", {
      cause: new Error("connect ECONNREFUSED 127.0.0.1:5432"),
    });
    expect(isDependencyOutage(wrapped)).toBe(true);
    // What the Upstash REST front answers while its Redis is gone, and Redis's code while it loads its data.
    expect(
      isDependencyOutage(
        new Error('ERR Redis is unavailable: Stream isn\'t writeable, command was: ["get"]'),
      ),
    ).toBe(true);
    expect(isDependencyOutage(new Error("LOADING Redis is loading the dataset in memory"))).toBe(true);
    expect(isDependencyOutage(Object.assign(new Error("aborted"), { name: "TimeoutError" }))).toBe(true);
  });

  it("leaves bugs as bugs: a command or script error is not an outage", () => {
    expect(
      isDependencyOutage(new Error("WRONGTYPE Operation against a key holding the wrong kind of value")),
    ).toBe(false);
    expect(isDependencyOutage(new Error("Error loading module: not found"))).toBe(false);
    expect(isDependencyOutage("ECONNREFUSED")).toBe(false);
  });
});
