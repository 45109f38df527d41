import { connect, type Socket } from "node:net";
import { countRequest } from "./figures.ts";
import type { Observed } from "./observed.ts";

export type RawOutcome = { kind: "response"; observed: Observed } | { kind: "closed" } | { kind: "timeout" };

/**
 * Sends exactly these bytes on a fresh connection and reads the answer until the server closes it: for what
 * fetch refuses to send (raw CR/LF, bare CR, NUL, absolute-form targets, odd methods). The request should
 * carry `Connection: close`. A server that hangs up without answering (its HTTP parser refused the bytes)
 * yields "closed".
 */
export function rawRequest(
  port: number,
  bytes: Buffer | string,
  timeoutMs = 10_000,
  pauseAfterBytes = Number.POSITIVE_INFINITY,
): Promise<RawOutcome> {
  countRequest();
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port });
    const finish = (outcome: RawOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    // A server may answer (413) and close before the whole body is written: what it said still counts.
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("close", () => {
      const observed = parseResponse(Buffer.concat(chunks), performance.now() - started);
      finish(observed ? { kind: "response", observed } : { kind: "closed" });
    });
    void writeUntilAnswered(socket, Buffer.from(bytes), () => chunks.length > 0, pauseAfterBytes);
  });
}

/**
 * Writes in slices and stops once the server has answered: a server that refuses a large upload and closes
 * resets the connection if bytes keep coming, and a reset can drop its answer before the client reads it.
 * Past `pauseAfterBytes` (where the server is expected to refuse) it waits up to PAUSE_MS for that answer
 * before sending more, as a client watching for an early response does; on a busy machine the answer can
 * otherwise arrive after bytes that make the closing server reset the connection.
 */
async function writeUntilAnswered(
  socket: Socket,
  bytes: Buffer,
  answered: () => boolean,
  pauseAfterBytes: number,
): Promise<void> {
  const SLICE = 16_384;
  // Long: on a loaded machine the gateway may take seconds to read up to its limit through its streams.
  const PAUSE_MS = 15_000;
  let paused = false;
  for (let offset = 0; offset < bytes.length && !answered() && !socket.destroyed; offset += SLICE) {
    if (!paused && offset > pauseAfterBytes) {
      paused = true;
      for (const until = Date.now() + PAUSE_MS; !answered() && !socket.destroyed && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      if (answered() || socket.destroyed) return;
    }
    if (!socket.write(bytes.subarray(offset, offset + SLICE))) {
      await new Promise<void>((resolve) => {
        socket.once("drain", resolve);
        socket.once("close", resolve);
      });
    }
  }
}

/** Parses one HTTP/1.1 response (Content-Length, chunked, or read-to-close body). */
export function parseResponse(raw: Buffer, elapsedMs: number): Observed | undefined {
  const headEnd = raw.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const lines = raw.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1]);
  if (!status) return undefined;
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  let body = raw.subarray(headEnd + 4);
  const chunked = headers.some(([name, value]) => name === "transfer-encoding" && /chunked/i.test(value));
  if (chunked) body = dechunk(body);
  return { status, headers, text: body.toString("utf8"), elapsedMs };
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf("\r\n", offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A request's bytes: request line, headers (written as given, CR/LF and all), and an optional body. */
export function requestBytes(opts: {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
}): Buffer {
  const head = [`${opts.method} ${opts.target} HTTP/1.1`, ...opts.headers.map(([n, v]) => `${n}: ${v}`)];
  return Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), opts.body ?? Buffer.alloc(0)]);
}
