import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listen } from "./net.ts";

/**
 * A local stand-in for Resend's email API (https://resend.com/docs/api-reference), because no mail provider
 * can be reached from the tests or offline. It speaks the part the gateway uses the way Resend does, so the
 * official `resend` package drives it unchanged:
 *   - `POST /emails`: Bearer `re_...` key (401 `missing_api_key`, 403 `invalid_api_key`), JSON body with
 *     `from`, `to` (1-50), `subject` and `html` or `text` (422 `missing_required_field` / `validation_error`),
 *     `Idempotency-Key` (same key and body within 24 h: the first answer again; another body: 409
 *     `invalid_idempotent_request`); answers `{ id }`;
 *   - `GET /emails/{id}`: the email object.
 * Every accepted message is kept (in memory, for the process's life) and shown at `/outbox`, newest first,
 * so a developer can open the verification link on their own machine; tests read `/__standin/emails`.
 *
 * Its log lines name the message id, subject and recipient only: never a body, a link or the API key.
 */
export interface ResendStandinOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Where its log lines go (one line per accepted or refused message). */
  log?: (line: string) => void;
}

export interface StoredEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  html: string | null;
  text: string | null;
  reply_to: string[] | null;
  headers: Record<string, string> | null;
  tags: Array<{ name: string; value: string }> | null;
  idempotency_key: string | null;
  created_at: string;
}

export interface ResendStandin {
  /** Base URL for RESEND_API_BASE, e.g. http://127.0.0.1:PORT */
  url: string;
  /** The outbox page, e.g. http://127.0.0.1:PORT/outbox */
  outboxUrl: string;
  emails: StoredEmail[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: string;
  type: string;
}

const API_KEY = /^re_[A-Za-z0-9_]{8,}$/;
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_RECIPIENTS = 50;
const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
const ADDRESS = /^(?:[^<>]*<)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/;

/** Resend's error shape: `{ statusCode, name, message }`. */
class ResendError extends Error {
  readonly statusCode: number;
  readonly errorName: string;

  constructor(statusCode: number, errorName: string, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.errorName = errorName;
  }
}

const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  type: "application/json",
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ResendError(413, "validation_error", "Request body too large.");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const list = (value: unknown): string[] | null =>
  value === undefined || value === null ? null : Array.isArray(value) ? value.map(String) : [String(value)];

function authenticate(header: string | undefined): void {
  if (!header) {
    throw new ResendError(401, "missing_api_key", "Missing API key in the authorization header");
  }
  const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!key || !API_KEY.test(key)) throw new ResendError(403, "invalid_api_key", "API key is invalid");
}

/** Checks a send request as Resend does and returns the message to keep. */
function parseSend(body: string): Omit<StoredEmail, "id" | "created_at" | "idempotency_key"> {
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new ResendError(422, "validation_error", "Invalid JSON body.");
  }
  if (!input || typeof input !== "object" || Array.isArray(input)) {
    throw new ResendError(422, "validation_error", "The body must be a JSON object.");
  }
  for (const field of ["from", "to", "subject"]) {
    if (input[field] === undefined || input[field] === "")
      throw new ResendError(422, "missing_required_field", `Missing \`${field}\` field.`);
  }
  const to = list(input.to) ?? [];
  if (to.length === 0 || to.length > MAX_RECIPIENTS) {
    throw new ResendError(
      422,
      "validation_error",
      `The \`to\` field must have 1 to ${MAX_RECIPIENTS} addresses.`,
    );
  }
  const from = String(input.from);
  for (const address of [from, ...to]) {
    if (!ADDRESS.test(address)) {
      throw new ResendError(
        422,
        "validation_error",
        `Invalid \`${address === from ? "from" : "to"}\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`,
      );
    }
  }
  if (typeof input.html !== "string" && typeof input.text !== "string") {
    throw new ResendError(422, "validation_error", "Missing `html` or `text` field.");
  }
  return {
    from,
    to,
    subject: String(input.subject),
    html: typeof input.html === "string" ? input.html : null,
    text: typeof input.text === "string" ? input.text : null,
    reply_to: list(input.reply_to),
    headers: (input.headers as Record<string, string> | undefined) ?? null,
    tags: (input.tags as StoredEmail["tags"] | undefined) ?? null,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function outboxPage(emails: StoredEmail[]): string {
  const rows = emails
    .slice()
    .reverse()
    .map(
      (email) =>
        `<tr><td>${escapeHtml(email.created_at.replace("T", " ").slice(0, 19))}</td><td>${escapeHtml(email.to.join(", "))}</td>` +
        `<td><a href="/outbox/${escapeHtml(email.id)}">${escapeHtml(email.subject)}</a></td></tr>`,
    )
    .join("");
  return page(
    "Outbox",
    `<h1>Outbox <small>(${emails.length} message${emails.length === 1 ? "" : "s"})</small></h1>
<p>Every email the gateway sent through this local stand-in of Resend's API, newest first. Nothing leaves this machine.</p>
${emails.length === 0 ? "<p><em>No mail yet.</em></p>" : `<table><thead><tr><th>Sent (UTC)</th><th>To</th><th>Subject</th></tr></thead><tbody>${rows}</tbody></table>`}`,
  );
}

function messagePage(email: StoredEmail): string {
  // The gateway's own HTML mail, shown as a mail client would (this page is a local development tool).
  const body = email.html ?? `<pre>${escapeHtml(email.text ?? "")}</pre>`;
  return page(
    email.subject,
    `<p><a href="/outbox">&larr; Outbox</a></p>
<dl><dt>From</dt><dd>${escapeHtml(email.from)}</dd><dt>To</dt><dd>${escapeHtml(email.to.join(", "))}</dd>
<dt>Subject</dt><dd>${escapeHtml(email.subject)}</dd><dt>Sent</dt><dd>${escapeHtml(email.created_at)}</dd></dl>
<article class="message">${body}</article>
${email.text ? `<details><summary>Plain-text part</summary><pre>${escapeHtml(email.text)}</pre></details>` : ""}`,
  );
}

const page = (title: string, content: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(title)} - local mail</title><meta name="referrer" content="no-referrer">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2430}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #dde}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.2rem 1rem}dt{color:#667}dd{margin:0}
.message{border:1px solid #dde;border-radius:8px;padding:1rem;margin:1rem 0}small{color:#667;font-weight:normal}</style>
</head><body>${content}</body></html>`;

export async function startResendStandin(opts: ResendStandinOptions = {}): Promise<ResendStandin> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? (() => {});
  const emails: StoredEmail[] = [];
  const byIdempotencyKey = new Map<string, { fingerprint: string; id: string; at: number }>();

  async function api(req: IncomingMessage, url: URL): Promise<Reply> {
    if (req.method === "POST" && url.pathname === "/emails") {
      authenticate(req.headers.authorization);
      const raw = await readBody(req);
      const message = parseSend(raw);
      const idempotencyKey = (req.headers["idempotency-key"] as string | undefined) ?? null;
      if (idempotencyKey !== null) {
        if (idempotencyKey.length < 1 || idempotencyKey.length > 256) {
          throw new ResendError(400, "invalid_idempotency_key", "The key must be between 1-256 chars.");
        }
        const fingerprint = createHash("sha256").update(raw).digest("hex");
        const seen = byIdempotencyKey.get(idempotencyKey);
        if (seen && Date.now() - seen.at < IDEMPOTENCY_WINDOW_MS) {
          if (seen.fingerprint !== fingerprint) {
            throw new ResendError(
              409,
              "invalid_idempotent_request",
              "Same idempotency key used with a different request payload. Change your idempotency key or payload.",
            );
          }
          log(`mail: ${seen.id} repeated (idempotency key), not sent again`);
          return json(200, { id: seen.id });
        }
        byIdempotencyKey.set(idempotencyKey, { fingerprint, id: "", at: Date.now() });
      }
      const stored: StoredEmail = {
        ...message,
        id: randomUUID(),
        idempotency_key: idempotencyKey,
        created_at: new Date().toISOString(),
      };
      emails.push(stored);
      if (idempotencyKey !== null) {
        const entry = byIdempotencyKey.get(idempotencyKey);
        if (entry) entry.id = stored.id;
      }
      log(`mail: ${stored.id} accepted: "${stored.subject}" to ${stored.to.length} recipient(s)`);
      return json(200, { id: stored.id });
    }
    const one = /^\/emails\/([0-9a-f-]{36})$/.exec(url.pathname);
    if (req.method === "GET" && one) {
      authenticate(req.headers.authorization);
      const email = emails.find((candidate) => candidate.id === one[1]);
      if (!email) throw new ResendError(404, "not_found", "Email not found");
      return json(200, { object: "email", ...email, last_event: "delivered" });
    }
    if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/outbox")) {
      return { status: 200, body: outboxPage(emails), type: "text/html; charset=utf-8" };
    }
    const shown = /^\/outbox\/([0-9a-f-]{36})$/.exec(url.pathname);
    if (req.method === "GET" && shown) {
      const email = emails.find((candidate) => candidate.id === shown[1]);
      if (email) return { status: 200, body: messagePage(email), type: "text/html; charset=utf-8" };
    }
    throw new ResendError(404, "not_found", "The requested endpoint does not exist.");
  }

  /** Not Resend: what the tests read. `?to=` narrows to one recipient (case-insensitive). */
  async function standin(req: IncomingMessage, url: URL): Promise<Reply> {
    if (req.method === "GET" && url.pathname === "/__standin/emails") {
      const to = url.searchParams.get("to")?.toLowerCase();
      const found = to
        ? emails.filter((email) => email.to.some((address) => address.toLowerCase() === to))
        : emails;
      return json(200, { emails: found });
    }
    throw new ResendError(404, "not_found", "No such stand-in route.");
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://standin");
    const handler = url.pathname.startsWith("/__standin/") ? standin : api;
    handler(req, url).then(
      (reply) => {
        res.writeHead(reply.status, { "Content-Type": reply.type, "Cache-Control": "no-store" });
        res.end(reply.body);
      },
      (error: unknown) => {
        const known = error instanceof ResendError;
        const status = known ? error.statusCode : 500;
        if (!known) log(`mail: internal error ${(error as Error).message}`);
        else if (url.pathname === "/emails") log(`mail: refused ${status} ${error.errorName}`);
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            statusCode: status,
            name: known ? error.errorName : "application_error",
            message: known ? error.message : "Internal server error.",
          }),
        );
      },
    );
  });
  const port = await listen(server, opts.port ?? 0, host);
  const url = `http://${host}:${port}`;
  return {
    url,
    outboxUrl: `${url}/outbox`,
    emails,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
