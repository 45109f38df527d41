import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, redact, redactString } from "../../src/lib/log";

describe("log redaction", () => {
  it("a failed query's log keeps the driver's own error (code and message), redacted", () => {
    const driver = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: "22021",
    });
    const failed = new Error('Failed query: insert into "api_keys" ...\nparams: gw_live_secret,x', {
      cause: driver,
    });
    const logged = redact(failed) as Record<string, unknown>;
    expect(logged.message).toBe('Failed query: insert into "api_keys" ...\nparams: [REDACTED]');
    expect(logged.cause).toEqual({
      name: "Error",
      message: 'invalid byte sequence for encoding "UTF8": 0x00',
      code: "22021",
    });
  });

  it("replaces every secret shape in strings, and keeps strings that hold none as they are", () => {
    expect(redactString("key gw_live_AbC123 used")).toBe("key [REDACTED] used");
    expect(redactString("sk_test_123abc and rk_live_9x")).toBe("[REDACTED] and [REDACTED]");
    expect(redactString("whsec_abc123")).toBe("[REDACTED]");
    expect(redactString("Authorization: Bearer abc.def")).toBe("Authorization: [REDACTED]");
    expect(redactString("postgres://user:hunter2@db.example/x")).toBe(
      "postgres://user:[REDACTED]@db.example/x",
    );
    expect(redactString("re_abcdefgh123")).toBe("[REDACTED]");
    expect(redactString("/portal/verify?token=abc&x=1")).toBe("/portal/verify[REDACTED]&x=1");
    const plain = "acct_123 GET /v1/items 200";
    expect(redactString(plain)).toBe(plain);
  });

  it("replaces values under secret-sounding keys, however deep, and leaves empty ones", () => {
    expect(
      redact({
        headers: { authorization: "x", Cookie: "s=1", accept: "*/*" },
        password: "",
        list: ["gw_test_a1"],
      }),
    ).toEqual({
      headers: { authorization: "[REDACTED]", Cookie: "[REDACTED]", accept: "*/*" },
      password: "",
      list: ["[REDACTED]"],
    });
  });
});

describe("logger", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("writes one JSON line per call at or above its level, with its fields, redacted and timed", () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-03-01T12:00:00.000Z"));
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const logger = createLogger("info", { requestId: "r1" }).with({ keyId: "key_a" });
    logger.debug("hidden");
    logger.info("seen", { token: "t0ps3cret" });
    logger.warn("careful");
    expect(log).toHaveBeenCalledTimes(1);
    expect(JSON.parse(log.mock.calls[0]?.[0] as string)).toEqual({
      level: "info",
      message: "seen",
      time: "2026-03-01T12:00:00.000Z",
      requestId: "r1",
      keyId: "key_a",
      token: "[REDACTED]",
    });
    expect(JSON.parse(warn.mock.calls[0]?.[0] as string)).toMatchObject({
      level: "warn",
      message: "careful",
    });
  });
});
