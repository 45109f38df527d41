import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../lib/context";

/**
 * One structured line per data-plane request, which Workers Logs can query: request id, account, key id,
 * tier, outcome, status and latency. Never the key itself (the logger redacts key shapes besides).
 *
 * ACCESS_LOG_SAMPLE_RATE keeps that share of the answered requests (status < 400), chosen at random, each
 * line then carrying `sampleRate` so a count of lines divided by it estimates the requests; refusals and
 * errors are always logged. The line costs more CPU than any other step of a proxied request but the origin
 * fetch (docs/BENCHMARK.md), so busy deployments sample it.
 *
 * @example app.ts runs it only for paths under API_PREFIXES: `await accessLog()(c, next)`
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = Date.now();
    await next();
    const status = c.res.status;
    const sampleRate = c.get("config").accessLogSampleRate;
    if (status < 400 && sampleRate < 1 && !(Math.random() < sampleRate)) return;
    const caller = c.get("caller");
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      status,
      outcome: c.get("outcome") ?? (status < 400 ? "ok" : "error"),
      accountId: caller?.accountId,
      keyId: caller?.keyId,
      tier: caller?.tier,
      latencyMs: Date.now() - started,
      ...(status < 400 && sampleRate < 1 ? { sampleRate } : {}),
    });
  };
}
