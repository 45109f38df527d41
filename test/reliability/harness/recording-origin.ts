import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { createDemoOriginApp } from "../../../scripts/stack/demo-origin.ts";
import { listen } from "../../../scripts/stack/net.ts";
import { ORIGIN_MARK } from "./observed.ts";

/** One request as it reached the origin. */
export interface OriginRecord {
  seq: number;
  method: string;
  /** The request target exactly as received. */
  url: string;
  host: string;
  /** Header fields as received (raw pairs, names lower-cased). */
  headers: Array<[string, string]>;
  /** X-Gateway-Signature checked with ORIGIN_SHARED_SECRET as README tells origins to: null when absent. */
  signatureValid: boolean | null;
  /**
   * For UPLOAD_SINK_PATH only: the body bytes received and whether the message was COMPLETE (RFC 9112: the
   * last chunk, or Content-Length bytes) rather than cut off by a closed connection. Absent until it ended.
   */
  body?: { bytes: number; complete: boolean };
}

/**
 * A path the recorder answers itself: it reads the body, records whether the message arrived whole, and
 * answers 200 only then, as an origin that acts on complete requests only would. Under /v1 so the gateway
 * proxies it with a key.
 */
export const UPLOAD_SINK_PATH = "/v1/__upload-sink";

export interface RecordingOrigin {
  url: string;
  host: string;
  port: number;
  /** Records from `from` on (seq numbers), and the seq the next record will get. */
  records(from: number): { next: number; records: OriginRecord[] };
  /** Stops listening and cuts open connections ("origin down"). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** Plenty for a run (a few thousand requests); older records are dropped first past it. */
const MAX_RECORDS = 50_000;

/**
 * The demo origin (echo, slow, redirect...) behind a recorder: every request's host, target and headers are
 * kept so tests can prove what reached the origin, and every response carries a mark so the suite can tell
 * the origin's answers from the gateway's own.
 */
export async function startRecordingOrigin(opts: { sharedSecret: string }): Promise<RecordingOrigin> {
  const demo = getRequestListener(createDemoOriginApp().fetch);
  const records: OriginRecord[] = [];
  let seq = 0;
  const handler = (req: IncomingMessage, res: Parameters<typeof demo>[1]) => {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.push([(req.rawHeaders[i] ?? "").toLowerCase(), req.rawHeaders[i + 1] ?? ""]);
    }
    const record: OriginRecord = {
      seq: seq++,
      method: req.method ?? "",
      url: req.url ?? "",
      host: req.headers.host ?? "",
      headers,
      signatureValid: checkSignature(req, opts.sharedSecret),
    };
    records.push(record);
    if (records.length > MAX_RECORDS) records.shift();
    res.setHeader(ORIGIN_MARK, "1");
    if ((req.url ?? "").split("?")[0] === UPLOAD_SINK_PATH) {
      sinkBody(req, res, record);
      return;
    }
    void demo(req, res);
  };
  let server: Server = createServer(handler);
  const port = await listen(server, 0, "127.0.0.1");
  const host = `127.0.0.1:${port}`;
  return {
    url: `http://${host}`,
    host,
    port,
    records(from) {
      return { next: seq, records: records.filter((record) => record.seq >= from) };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    async start() {
      server = createServer(handler);
      await listen(server, port, "127.0.0.1");
    },
  };
}

/** Reads the body to its end (or its cut-off) and records which; answers 200 only for a complete message. */
function sinkBody(
  req: IncomingMessage,
  res: Parameters<ReturnType<typeof getRequestListener>>[1],
  record: OriginRecord,
) {
  let bytes = 0;
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on("end", () => {
    record.body = { bytes, complete: true };
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ bytes }));
  });
  // 'close' without 'end' (Node also emits 'error' "aborted"): the peer closed before the message was complete.
  req.on("error", () => {});
  req.on("close", () => {
    record.body ??= { bytes, complete: false };
  });
}

/** README's verifyGateway, in Node: t, method, target, request id, account, key id, tier; HMAC-SHA256. */
function checkSignature(req: IncomingMessage, secret: string): boolean | null {
  const value = req.headers["x-gateway-signature"];
  if (value === undefined) return null;
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(value));
  if (!match?.[1] || !match[2]) return false;
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const h = (name: string) => String(req.headers[name] ?? "");
  const signed = [
    match[1],
    req.method,
    req.url,
    h("x-request-id"),
    h("x-gateway-account"),
    h("x-gateway-key-id"),
    h("x-gateway-tier"),
  ].join("\n");
  const expected = createHmac("sha256", secret).update(signed).digest();
  return timingSafeEqual(expected, Buffer.from(match[2], "hex"));
}
