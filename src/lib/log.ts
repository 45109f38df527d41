/**
 * Structured JSON logs, one object a line, which Workers Logs indexes. Anything that may carry a secret is
 * redacted before it is written: values under secret-sounding keys, and key- or token-shaped substrings.
 */
type LogLevel = "debug" | "info" | "warn" | "error";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY_NAME = /(authorization|token|secret|password|api[-_]?key|cookie|^key$|signature)/i;
// Gateway keys, Stripe secrets and webhook secrets, bearer credentials, and URL passwords.
const SECRET_SHAPES: RegExp[] = [
  /\bgw_(live|test)_[A-Za-z0-9]+/g,
  /\b(sk|rk)_(live|test)_[A-Za-z0-9]+/g,
  /\bwhsec_[A-Za-z0-9]+/g,
  /\bBearer\s+[^\s",]+/gi,
  /(\/\/[^:/@\s]+:)[^@/\s]+@/g,
  // drizzle's "Failed query: ... params: ..." carries the query's values (emails, hashes).
  /\bparams: [^\n]*/g,
  // Mail: Resend API keys, and the single-use tokens of portal links (?token=...).
  /\bre_[A-Za-z0-9_]{8,}/g,
  /[?&]token=[^&\s"]+/g,
];

/** SECRET_KEY_NAME's answer by field name: the same few names recur on every line. Bounded. */
const secretNames = new Map<string, boolean>();

function isSecretName(name: string): boolean {
  let secret = secretNames.get(name);
  if (secret === undefined) {
    secret = SECRET_KEY_NAME.test(name);
    if (secretNames.size < 1_000) secretNames.set(name, secret);
  }
  return secret;
}

/** One cheap test every secret shape above needs to pass: most strings (ids, paths, numbers) skip the rest. */
const MAY_HOLD_SECRET = /gw_|[sr]k_|whsec_|bearer|\/\/|params: |re_|token=/i;

export function redactString(value: string): string {
  if (!MAY_HOLD_SECRET.test(value)) return value;
  let out = value;
  for (const shape of SECRET_SHAPES) {
    out = out.replace(shape, (match, ...groups) => {
      if (match.startsWith("//")) return `${groups[0]}[REDACTED]@`;
      return match.startsWith("params:") ? "params: [REDACTED]" : "[REDACTED]";
    });
  }
  return out;
}

/** Deep-copies `value`, replacing secrets. Depth-bounded so a cyclic or huge object cannot stall a request. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object" || depth > 6) return value;
  if (value instanceof Error) return redactError(value, depth);
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => redact(item, depth + 1));
  return redactFieldsInto({}, value as Record<string, unknown>, depth);
}

/** Copies `fields` into `out`, each value redacted as redact() would at `depth`; returns `out`. */
function redactFieldsInto(
  out: Record<string, unknown>,
  fields: Record<string, unknown>,
  depth: number,
): Record<string, unknown> {
  for (const key of Object.keys(fields)) {
    const item = fields[key];
    out[key] = isSecretName(key) && item != null && item !== "" ? "[REDACTED]" : redact(item, depth + 1);
  }
  return out;
}

/**
 * An error as logged: name, message, the driver's SQLSTATE or errno `code` when it has one, and its `cause`
 * chain, so "Failed query" (drizzle) keeps the driver's own reason (e.g. Postgres's `22021 invalid byte
 * sequence`). Redacted like everything else; the driver's `detail` is left out (it quotes row values).
 */
function redactError(error: Error, depth: number): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: redactString(error.message),
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
    ...(error.cause !== undefined && depth < 6 ? { cause: redact(error.cause, depth + 1) } : {}),
  };
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields` (e.g. the request id). */
  with(fields: Record<string, unknown>): Logger;
}

export function createLogger(minLevel: LogLevel = "info", base: Record<string, unknown> = {}): Logger {
  return new JsonLogger(minLevel, base);
}

/** A class, not a literal of closures: every request makes one (request-context.ts). */
class JsonLogger implements Logger {
  // Plain fields, not parameter properties: Node scripts import this file, and Node only strips types.
  private readonly minLevel: LogLevel;
  private readonly base: Record<string, unknown>;

  constructor(minLevel: LogLevel, base: Record<string, unknown>) {
    this.minLevel = minLevel;
    this.base = base;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write("debug", message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.write("info", message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.write("warn", message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.write("error", message, fields);
  }

  with(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.minLevel, { ...this.base, ...fields });
  }

  private write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (levelRank[level] < levelRank[this.minLevel]) return;
    // One object, filled in place: the access log writes a line per request.
    const entry: Record<string, unknown> = {
      level,
      message: redactString(message),
      time: new Date().toISOString(),
    };
    redactFieldsInto(entry, this.base, 0);
    if (fields) redactFieldsInto(entry, fields, 0);
    const line = JSON.stringify(entry);
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else console.log(line);
  }
}
