import { createServer, type IncomingMessage } from "node:http";
import { connect, isIPv6, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { listen } from "./net.ts";
import { PgMessageScanner } from "./pg-wire.ts";

export interface NeonWsProxyOptions {
  /** "host:port" entries the proxy may connect to (IPv6 as "[::1]:5432" or "::1:5432"). */
  allowedTargets: string[];
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface NeonWsProxy {
  port: number;
  /** The value for neonConfig.wsProxy's host part, e.g. "127.0.0.1:PORT/v2" */
  wsProxyBase: string;
  /** Since start or the last resetStats(): proxied connections, and Query ('Q') plus Execute ('E') messages. */
  stats: { connections: number; queries: number };
  resetStats(): void;
  /** Closes the server and every open connection. */
  close(): Promise<void>;
}

// A WebSocket close code the client sees when the database side failed (RFC 6455: 1011 internal error).
const CLOSE_UPSTREAM_FAILED = 1011;
const CLOSE_GOING_AWAY = 1001;
// Postgres answers an SSLRequest / GSSENCRequest with one byte; 'S' / 'G' mean the stream turns to ciphertext.
const ENCRYPTION_ACCEPTED = new Set(["S".charCodeAt(0), "G".charCodeAt(0)]);
// Above this much data not yet sent to the WebSocket client, stop reading from Postgres until it drains.
const WS_HIGH_WATER = 1 << 20;
// After the client hangs up, Postgres normally closes within milliseconds of our FIN; this bounds the wait.
const UPSTREAM_LINGER_MS = 2_000;
// How long close() waits for clients to acknowledge the close frame before cutting them off.
const CLOSE_HANDSHAKE_MS = 500;

/**
 * Speaks the WebSocket side of Neon's proxy (what @neondatabase/serverless connects to when
 * `neonConfig.wsProxy` points here, without TLS) and relays each connection's bytes to a plain
 * Postgres over TCP. The client's Postgres messages pass through untouched; the proxy only reads
 * along to count queries, so benchmarks can tell how many round trips a request cost.
 */
export async function startNeonWsProxy(opts: NeonWsProxyOptions): Promise<NeonWsProxy> {
  const allowed = new Set(
    opts.allowedTargets.map((entry) => {
      const target = parseTarget(entry);
      if (!target) throw new Error(`neon-ws-proxy: allowedTargets entry "${entry}" is not host:port`);
      return targetKey(target);
    }),
  );
  const host = opts.host ?? "127.0.0.1";
  const stats = { connections: 0, queries: 0 };
  const bridges = new Set<Bridge>();
  let closing: Promise<void> | undefined;

  const server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket", connection: "close" });
    res.end("This is a WebSocket-to-Postgres proxy: connect with a WebSocket to /v2?address=host:port\n");
  });
  // Per-message deflate only burns CPU on loopback, and the Neon driver does not ask for it.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const checked = closing
      ? { refuse: 503, reason: "Service Unavailable: proxy is closing" }
      : checkRequest(req, allowed);
    if ("refuse" in checked) {
      refuseUpgrade(socket, checked.refuse, checked.reason);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // close() may have started while the handshake was in flight; it only shuts bridges it can see.
      if (closing) {
        ws.terminate();
        return;
      }
      stats.connections++;
      const bridge = openBridge(ws, checked.target, () => stats.queries++);
      bridges.add(bridge);
      bridge.closed.then(() => bridges.delete(bridge));
    });
  });

  const port = await listen(server, opts.port ?? 0, host);

  return {
    port,
    wsProxyBase: `${isIPv6(host) ? `[${host}]` : host}:${port}/v2`,
    stats,
    resetStats() {
      stats.connections = 0;
      stats.queries = 0;
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...bridges].map((bridge) => bridge.shutdown()));
        server.closeAllConnections();
        await serverClosed;
      })();
      return closing;
    },
  };
}

interface Target {
  host: string;
  port: number;
}

/** Parses "host:port", "[v6]:port" or "v6:port" (the Neon driver does not bracket IPv6 hosts). */
function parseTarget(value: string): Target | undefined {
  const colon = value.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let host = value.slice(0, colon).toLowerCase();
  const portText = value.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!/^\d{1,5}$/.test(portText) || host === "") return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  return { host, port };
}

function targetKey(target: Target): string {
  return `${target.host}:${target.port}`;
}

function checkRequest(
  req: IncomingMessage,
  allowed: Set<string>,
): { target: Target } | { refuse: number; reason: string } {
  const url = new URL(req.url ?? "/", "http://proxy.invalid");
  if (url.pathname !== "/v2" && url.pathname !== "/") return { refuse: 404, reason: "Not Found" };
  const address = url.searchParams.get("address");
  if (!address) return { refuse: 400, reason: "Bad Request: missing ?address=host:port" };
  const target = parseTarget(address);
  if (!target) return { refuse: 400, reason: "Bad Request: address must be host:port" };
  // Exact match on the literal host: resolving names here would let DNS widen the list.
  if (!allowed.has(targetKey(target)))
    return { refuse: 403, reason: `Forbidden: ${address} is not an allowed target` };
  return { target };
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.on("error", () => {});
  socket.end(
    `HTTP/1.1 ${status} ${reason.split(":")[0]}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

interface Bridge {
  /** Settles once both the WebSocket and the TCP socket are closed. */
  closed: Promise<void>;
  shutdown(): Promise<void>;
}

function openBridge(ws: WebSocket, target: Target, onQuery: () => void): Bridge {
  const tcp: Socket = connect({ host: target.host, port: target.port });
  tcp.setNoDelay(true);

  let awaitingEncryptionAnswer = false;
  let terminated = false;
  const scanner = new PgMessageScanner({
    startupPhase: true,
    onMessage: (message) => {
      if (message.type === "Q" || message.type === "E") onQuery();
      else if (message.type === "X") terminated = true;
      else if (message.type === "ssl-request" || message.type === "gssenc-request")
        awaitingEncryptionAnswer = true;
    },
  });

  // Messages that arrive before the TCP connect completes are buffered by the socket itself.
  ws.on("message", (data: RawData) => {
    // Nothing may follow Terminate; writing after end() would only raise an error.
    if (tcp.writableEnded) return;
    const bytes = toBuffer(data);
    if (!scanner.stopped) scanner.push(bytes);
    if (!tcp.write(bytes)) ws.pause();
    // The Neon driver's Client.end() sends Terminate, then waits for the server to hang up: its socket shim
    // drops the callback that would close the WebSocket (pg calls write(data, cb); the shim takes cb for the
    // encoding). Postgres closes after Terminate but PGlite's socket server does not, so the proxy ends the
    // TCP side itself; the WebSocket closes when the server's side does.
    if (terminated) tcp.end();
  });
  tcp.on("drain", () => ws.resume());

  tcp.on("data", (chunk: Buffer) => {
    if (awaitingEncryptionAnswer) {
      awaitingEncryptionAnswer = false;
      if (ENCRYPTION_ACCEPTED.has(chunk[0] ?? 0)) scanner.stop();
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount < WS_HIGH_WATER / 2) tcp.resume();
    });
    if (ws.bufferedAmount > WS_HIGH_WATER) tcp.pause();
  });

  let upstreamError: Error | undefined;
  tcp.on("error", (error) => {
    upstreamError = error;
  });
  const tcpClosed = new Promise<void>((resolve) => tcp.once("close", () => resolve()));
  const wsClosed = new Promise<void>((resolve) => ws.once("close", () => resolve()));

  tcp.once("close", () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    // The close frame queues behind data already sent, so the client still gets e.g. a FATAL ErrorResponse.
    if (upstreamError)
      ws.close(CLOSE_UPSTREAM_FAILED, truncateReason(`database connection failed: ${upstreamError.message}`));
    else ws.close(1000);
  });

  ws.on("error", () => tcp.destroy());
  ws.once("close", () => {
    if (tcp.destroyed) return;
    tcp.end();
    setTimeout(() => tcp.destroy(), UPSTREAM_LINGER_MS).unref();
  });

  const closed = Promise.all([tcpClosed, wsClosed]).then(() => {});
  return {
    closed,
    async shutdown() {
      tcp.destroy();
      if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE_GOING_AWAY, "proxy shutting down");
      const timer = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

// Close reasons are limited to 123 bytes by RFC 6455.
function truncateReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  return text;
}
