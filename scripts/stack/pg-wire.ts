// Incremental framing of Postgres wire-protocol (v3) byte streams, for code that watches a connection
// without terminating it (the Neon proxy's query counter, the embedded server's session tracking).
// Only message headers are buffered: bodies are skipped as they stream past, so a large COPY or
// parameter costs no memory here.

/** The request codes that share the untyped startup framing with the StartupMessage itself. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

// Real startup packets are small; anything larger means we are not looking at Postgres (or lost sync).
const MAX_STARTUP_LENGTH = 10_000;

export interface PgMessage {
  /**
   * The type byte as a character for typed messages ("Q", "E", "Z", ...); for the untyped
   * startup-phase messages one of "startup", "ssl-request", "gssenc-request", "cancel-request".
   */
  type: string;
  /** Length as on the wire (includes the length field itself, excludes the type byte). */
  length: number;
  /** First body byte, e.g. ReadyForQuery's transaction status; undefined when the body is empty. */
  firstByte: number | undefined;
}

export interface PgMessageScannerOptions {
  /**
   * True for a frontend (client to server) stream from its first byte: it opens with untyped
   * messages (length + code) until the StartupMessage. Backend streams are typed throughout.
   */
  startupPhase: boolean;
  /** Called once per message, when its last byte has gone past. */
  onMessage: (message: PgMessage) => void;
}

/**
 * Splits one direction of a Postgres connection into messages, however the bytes are chunked
 * (a message split over many chunks, or many messages in one chunk). On bytes that cannot be
 * Postgres framing it stops for good (see `stopped`) rather than guessing where messages resume.
 */
export class PgMessageScanner {
  #onMessage: (message: PgMessage) => void;
  #startupPhase: boolean;
  #header = new Uint8Array(8);
  #headerFill = 0;
  #current: (PgMessage & { atBodyStart: boolean }) | undefined;
  #bodyLeft = 0;
  #stopped = false;

  constructor(opts: PgMessageScannerOptions) {
    this.#onMessage = opts.onMessage;
    this.#startupPhase = opts.startupPhase;
  }

  /** True once the stream stopped being parseable (encryption negotiated, or not Postgres at all). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Gives up parsing, e.g. because the server agreed to TLS and the rest is ciphertext. */
  stop(): void {
    this.#stopped = true;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length && !this.#stopped) {
      const current = this.#current;
      if (current) {
        const take = Math.min(this.#bodyLeft, chunk.length - offset);
        if (current.atBodyStart) {
          current.firstByte = chunk[offset];
          current.atBodyStart = false;
        }
        this.#bodyLeft -= take;
        offset += take;
        if (this.#bodyLeft === 0) this.#finish();
        continue;
      }
      const headerSize = this.#startupPhase ? 8 : 5;
      const take = Math.min(headerSize - this.#headerFill, chunk.length - offset);
      this.#header.set(chunk.subarray(offset, offset + take), this.#headerFill);
      this.#headerFill += take;
      offset += take;
      if (this.#headerFill === headerSize) this.#startMessage();
    }
  }

  #startMessage(): void {
    const view = new DataView(this.#header.buffer);
    this.#headerFill = 0;
    if (this.#startupPhase) {
      // Length, then a code that is already part of the body: "first body byte" means nothing here.
      const length = view.getInt32(0);
      const code = view.getInt32(4);
      const type = startupPhaseType(code);
      if (length < 8 || length > MAX_STARTUP_LENGTH || !type) {
        this.stop();
        return;
      }
      this.#current = { type, length, firstByte: undefined, atBodyStart: false };
      this.#bodyLeft = length - 8;
    } else {
      const length = view.getInt32(1);
      if (length < 4) {
        this.stop();
        return;
      }
      const type = String.fromCharCode(this.#header[0] ?? 0);
      this.#current = { type, length, firstByte: undefined, atBodyStart: length > 4 };
      this.#bodyLeft = length - 4;
    }
    if (this.#bodyLeft === 0) this.#finish();
  }

  #finish(): void {
    const message = this.#current;
    this.#current = undefined;
    if (!message) return;
    if (message.type === "startup") this.#startupPhase = false;
    this.#onMessage({ type: message.type, length: message.length, firstByte: message.firstByte });
  }
}

function startupPhaseType(code: number): string | undefined {
  if (code === SSL_REQUEST_CODE) return "ssl-request";
  if (code === GSSENC_REQUEST_CODE) return "gssenc-request";
  if (code === CANCEL_REQUEST_CODE) return "cancel-request";
  if (code >>> 16 === 3) return "startup";
  return undefined;
}

// Builders for frontend messages, for tests and tools that speak the protocol by hand.

/** A frontend message with the given type and body, e.g. frontendMessage("S") for Sync. */
export function frontendMessage(type: string, body: Uint8Array = new Uint8Array(0)): Buffer {
  const message = Buffer.alloc(5 + body.length);
  message.write(type, 0, "latin1");
  message.writeInt32BE(4 + body.length, 1);
  message.set(body, 5);
  return message;
}

/** A protocol 3.0 StartupMessage carrying `params` (user, database, application_name, ...). */
export function startupMessage(params: Record<string, string>): Buffer {
  const pairs = Object.entries(params).flat();
  const body = Buffer.from(`${pairs.map((s) => `${s}\0`).join("")}\0`, "utf8");
  const message = Buffer.alloc(8 + body.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(3 << 16, 4);
  message.set(body, 8);
  return message;
}

/** A simple-protocol Query message. */
export function queryMessage(sql: string): Buffer {
  return frontendMessage("Q", Buffer.from(`${sql}\0`, "utf8"));
}

/** Parse of `sql` into the unnamed statement, parameter types left to the server. */
export function parseMessage(sql: string): Buffer {
  return frontendMessage("P", Buffer.from(`\0${sql}\0\0\0`, "utf8"));
}

/** Bind of the unnamed statement to the unnamed portal, with no parameters and text results. */
export function bindMessage(): Buffer {
  return frontendMessage("B", Buffer.from("\0\0\0\0\0\0\0\0", "latin1"));
}

/** Execute of the unnamed portal, all rows. */
export function executeMessage(): Buffer {
  return frontendMessage("E", Buffer.from("\0\0\0\0\0", "latin1"));
}
