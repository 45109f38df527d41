import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listen } from "./net.ts";

/**
 * A local stand-in for the part of Stripe's API the gateway calls, because Stripe's servers cannot be reached
 * from the tests (or offline). It checks what Stripe checks for these calls (a secret key, form-encoded
 * bodies, required parameters, referenced customers, idempotency keys, meter-event identifiers) and answers
 * in Stripe's shapes, including its error shape, so the stripe package runs against it unchanged.
 *
 * Not Stripe: the /__standin/ routes. Tests (inside workerd too) read and clear the record of calls there,
 * and seed subscriptions, which Stripe creates only when a customer completes Checkout in a browser.
 */
export interface StripeStandinOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, see `url`. */
  port?: number;
}

export interface RecordedCall {
  method: string;
  /** e.g. /v1/checkout/sessions */
  path: string;
  /** The decoded form body (POST) or query (GET), as Stripe reads it: `a[b][0]=x` -> { a: { b: ["x"] } }. */
  params: Record<string, unknown>;
  idempotencyKey: string | null;
  livemode: boolean;
  status: number;
  at: number;
}

export interface StripeStandin {
  /** Base URL for STRIPE_API_BASE, e.g. http://127.0.0.1:PORT. */
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

type Params = Record<string, unknown>;
type StripeObject = Record<string, unknown>;

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Caller {
  livemode: boolean;
  apiKey: string;
}

/** Stripe's own error shape: `{ error: { type, message, code?, param? } }`. */
class StripeApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;
  readonly param: string | undefined;

  constructor(
    status: number,
    message: string,
    details: { type?: string; code?: string; param?: string } = {},
  ) {
    super(message);
    this.status = status;
    this.type = details.type ?? "invalid_request_error";
    this.code = details.code;
    this.param = details.param;
  }
}

const MAX_BODY_BYTES = 1024 * 1024;
const SECRET_KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;
const FORM_TYPE = /^application\/x-www-form-urlencoded(\s*;.*)?$/i;
const METER_EVENT_MAX_AGE_S = 35 * 86_400;
const METER_EVENT_MAX_FUTURE_S = 5 * 60;
/** Stripe keeps meter-event identifiers unique for at least 24 hours. */
const IDENTIFIER_WINDOW_MS = 24 * 3_600_000;

const randomId = (prefix: string) =>
  `${prefix}_${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

const missing = (param: string) =>
  new StripeApiError(400, `Missing required param: ${param}.`, { code: "parameter_missing", param });
const invalid = (param: string, message: string) =>
  new StripeApiError(400, message, { code: "parameter_invalid", param });

export async function startStripeStandin(opts: StripeStandinOptions = {}): Promise<StripeStandin> {
  const host = opts.host ?? "127.0.0.1";
  const calls: RecordedCall[] = [];
  const customers = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const meterIdentifiers = new Map<string, number>();
  const idempotent = new Map<string, { fingerprint: string; reply: Reply }>();
  let baseUrl = "";

  const mode = (caller: Caller) => (caller.livemode ? "live" : "test");

  function requireCustomer(params: Params, param = "customer"): string {
    const id = params[param];
    if (id === undefined || id === "") throw missing(param);
    if (typeof id !== "string" || !customers.has(id)) {
      throw new StripeApiError(400, `No such customer: '${String(id)}'`, { code: "resource_missing", param });
    }
    return id;
  }

  function createCustomer(params: Params, caller: Caller): Reply {
    const email = optionalString(params, "email");
    if (email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      throw invalid("email", `Invalid email address: ${email}`);
    }
    const customer = {
      id: randomId("cus"),
      object: "customer",
      created: nowSeconds(),
      email: email ?? null,
      name: optionalString(params, "name") ?? null,
      metadata: metadataOf(params),
      livemode: caller.livemode,
    };
    customers.set(customer.id, customer);
    return { status: 200, body: customer };
  }

  function createCheckoutSession(params: Params, caller: Caller): Reply {
    const sessionMode = params.mode;
    if (sessionMode === undefined) throw missing("mode");
    if (sessionMode !== "payment" && sessionMode !== "setup" && sessionMode !== "subscription") {
      throw invalid("mode", "Invalid mode: must be one of payment, setup, or subscription");
    }
    const customer = params.customer === undefined ? null : requireCustomer(params);
    if (customer && params.customer_email !== undefined) {
      throw invalid(
        "customer_email",
        "You may only specify one of these parameters: customer, customer_email.",
      );
    }
    const lineItems = params.line_items;
    if (sessionMode !== "setup") {
      if (!Array.isArray(lineItems) || lineItems.length === 0) throw missing("line_items");
      for (const [index, item] of lineItems.entries()) checkLineItem(item, index);
    }
    const reference = optionalString(params, "client_reference_id");
    if (reference !== undefined && reference.length > 200) {
      throw invalid("client_reference_id", "client_reference_id must be at most 200 characters.");
    }
    for (const param of ["success_url", "cancel_url"]) checkUrl(params, param);
    const id = randomId(`cs_${mode(caller)}`);
    return {
      status: 200,
      body: {
        id,
        object: "checkout.session",
        created: nowSeconds(),
        mode: sessionMode,
        status: "open",
        payment_status: "unpaid",
        customer,
        customer_email: optionalString(params, "customer_email") ?? null,
        client_reference_id: reference ?? null,
        metadata: metadataOf(params),
        success_url: optionalString(params, "success_url") ?? null,
        cancel_url: optionalString(params, "cancel_url") ?? null,
        subscription: null,
        url: `${baseUrl}/c/pay/${id}`,
        livemode: caller.livemode,
      },
    };
  }

  function createBillingPortalSession(params: Params, caller: Caller): Reply {
    const customer = requireCustomer(params);
    checkUrl(params, "return_url");
    const id = randomId("bps");
    return {
      status: 200,
      body: {
        id,
        object: "billing_portal.session",
        created: nowSeconds(),
        customer,
        return_url: optionalString(params, "return_url") ?? null,
        url: `${baseUrl}/p/session/${id}`,
        livemode: caller.livemode,
      },
    };
  }

  function createMeterEvent(params: Params, caller: Caller): Reply {
    const eventName = optionalString(params, "event_name");
    if (!eventName) throw missing("event_name");
    const payload = params.payload;
    if (!isObject(payload)) throw missing("payload");
    for (const key of ["stripe_customer_id", "value"]) {
      if (typeof payload[key] !== "string" || payload[key] === "") throw missing(`payload[${key}]`);
    }
    if (!/^-?\d+(\.\d+)?$/.test(payload.value as string)) {
      throw invalid("payload[value]", "The value in the payload must be a number.");
    }
    const timestamp = params.timestamp === undefined ? nowSeconds() : Number(params.timestamp);
    if (!Number.isInteger(timestamp))
      throw invalid("timestamp", `Invalid integer: ${String(params.timestamp)}`);
    if (
      timestamp < nowSeconds() - METER_EVENT_MAX_AGE_S ||
      timestamp > nowSeconds() + METER_EVENT_MAX_FUTURE_S
    ) {
      throw invalid(
        "timestamp",
        "Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
      );
    }
    const identifier = optionalString(params, "identifier") ?? randomId("mev");
    if (identifier.length > 100) throw invalid("identifier", "identifier must be at most 100 characters.");
    const seen = meterIdentifiers.get(`${caller.apiKey}\n${identifier}`);
    if (seen !== undefined && Date.now() - seen < IDENTIFIER_WINDOW_MS) {
      throw new StripeApiError(400, `An event already exists with identifier ${identifier}.`);
    }
    meterIdentifiers.set(`${caller.apiKey}\n${identifier}`, Date.now());
    return {
      status: 200,
      body: {
        object: "billing.meter_event",
        created: nowSeconds(),
        event_name: eventName,
        identifier,
        payload,
        timestamp,
        livemode: caller.livemode,
      },
    };
  }

  function retrieve(map: Map<string, StripeObject>, kind: string, id: string): Reply {
    const found = map.get(id);
    if (!found)
      throw new StripeApiError(404, `No such ${kind}: '${id}'`, { code: "resource_missing", param: "id" });
    return { status: 200, body: found };
  }

  function route(method: string, path: string, params: Params, caller: Caller): Reply {
    if (method === "POST" && path === "/v1/customers") return createCustomer(params, caller);
    if (method === "POST" && path === "/v1/checkout/sessions") return createCheckoutSession(params, caller);
    if (method === "POST" && path === "/v1/billing_portal/sessions")
      return createBillingPortalSession(params, caller);
    if (method === "POST" && path === "/v1/billing/meter_events") return createMeterEvent(params, caller);
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (method === "GET" && customer?.[1]) return retrieve(customers, "customer", customer[1]);
    const subscription = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (method === "GET" && subscription?.[1])
      return retrieve(subscriptions, "subscription", subscription[1]);
    throw new StripeApiError(404, `Unrecognized request URL (${method}: ${path}).`);
  }

  /** A Stripe API request: authenticate, decode, replay or run, record. */
  async function api(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method ?? "GET";
    const body = await readBody(req);
    let params: Params = {};
    let caller: Caller | undefined;
    let reply: Reply;
    try {
      caller = authenticate(req.headers.authorization);
      if (method === "POST") {
        if (!FORM_TYPE.test(req.headers["content-type"] ?? "")) {
          throw new StripeApiError(
            400,
            "Invalid request (check that your POST content type is application/x-www-form-urlencoded).",
          );
        }
        params = decodeStripeForm(body);
      } else {
        params = decodeStripeForm(url.search.slice(1));
      }
      reply = runIdempotently(req, method, url.pathname, body, caller, () =>
        route(method, url.pathname, params, caller as Caller),
      );
    } catch (error) {
      reply = errorReply(error);
    }
    calls.push({
      method,
      path: url.pathname,
      params,
      idempotencyKey: headerOf(req, "idempotency-key") ?? null,
      livemode: caller?.livemode ?? false,
      status: reply.status,
      at: Date.now(),
    });
    return reply;
  }

  /**
   * Stripe's idempotency: a POST repeated with the same Idempotency-Key gets the first result again (only
   * successful ones are kept, as Stripe keeps none for a request that failed validation); the same key with
   * other parameters is an error.
   */
  function runIdempotently(
    req: IncomingMessage,
    method: string,
    path: string,
    body: string,
    caller: Caller,
    run: () => Reply,
  ): Reply {
    const key = headerOf(req, "idempotency-key");
    if (method !== "POST" || !key) return run();
    const scoped = `${caller.apiKey}\n${key}`;
    const fingerprint = `${method} ${path}\n${body}`;
    const earlier = idempotent.get(scoped);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        throw new StripeApiError(
          400,
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          { type: "idempotency_error" },
        );
      }
      return { ...earlier.reply, headers: { ...earlier.reply.headers, "Idempotent-Replayed": "true" } };
    }
    const reply = run();
    if (reply.status < 300) idempotent.set(scoped, { fingerprint, reply });
    return reply;
  }

  /** Not Stripe: what tests need to see and set up. */
  async function standin(req: IncomingMessage, url: URL): Promise<Reply> {
    const body = await readBody(req);
    if (url.pathname === "/__standin/calls" && req.method === "GET") return { status: 200, body: { calls } };
    if (url.pathname === "/__standin/calls" && req.method === "POST") {
      calls.length = 0;
      return { status: 200, body: { calls } };
    }
    if (url.pathname === "/__standin/subscriptions" && req.method === "POST") {
      return { status: 201, body: seedSubscription(JSON.parse(body || "{}") as Params) };
    }
    return { status: 404, body: { error: `no stand-in route ${req.method} ${url.pathname}` } };
  }

  /** A subscription as Checkout would have created it: `{ customer, prices, status?, id?, metadata? }`. */
  function seedSubscription(input: Params): StripeObject {
    const prices = Array.isArray(input.prices) ? input.prices.map(String) : [];
    const id = typeof input.id === "string" ? input.id : randomId("sub");
    const subscription = {
      id,
      object: "subscription",
      created: nowSeconds(),
      customer: String(input.customer ?? ""),
      status: typeof input.status === "string" ? input.status : "active",
      metadata: isObject(input.metadata) ? input.metadata : {},
      items: {
        object: "list",
        data: prices.map((price) => ({
          id: randomId("si"),
          object: "subscription_item",
          price: { id: price, object: "price" },
          quantity: 1,
          subscription: id,
        })),
      },
      livemode: false,
    };
    subscriptions.set(id, subscription);
    return subscription;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://standin");
    const handler = url.pathname.startsWith("/__standin/") ? standin : api;
    handler(req, url).then(
      (reply) => send(res, reply),
      (error: unknown) => send(res, errorReply(error)),
    );
  });
  const port = await listen(server, opts.port ?? 0, host);
  baseUrl = `http://${host}:${port}`;
  return {
    url: baseUrl,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Bearer (what the SDK sends) or Basic with the key as user name (what `curl -u sk_...:` sends). */
function authenticate(header: string | undefined): Caller {
  if (!header) {
    throw new StripeApiError(
      401,
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    );
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
  const key = bearer ?? (basic ? Buffer.from(basic, "base64").toString("utf8").split(":")[0] : undefined);
  if (!key || !SECRET_KEY.test(key)) {
    // Like Stripe: name the key only by its last characters.
    const shown = key ? `${key.slice(0, 8)}****${key.slice(-4)}` : "(none)";
    throw new StripeApiError(401, `Invalid API Key provided: ${shown}`);
  }
  return { livemode: key.includes("_live_"), apiKey: key };
}

/**
 * Decodes Stripe's form encoding: `metadata[tier]=pro`, `line_items[0][price]=price_x`, `expand[]=a`.
 * Objects whose keys are all indexes become arrays.
 */
export function decodeStripeForm(body: string): Params {
  const root: Params = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!match?.[1]) throw new StripeApiError(400, `Invalid parameter name: ${key}`);
    const path = [match[1], ...[...(match[2] ?? "").matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? "")];
    if (
      path.some((segment) => segment === "__proto__" || segment === "constructor" || segment === "prototype")
    ) {
      throw new StripeApiError(400, `Invalid parameter name: ${key}`);
    }
    let node: Params = root;
    path.forEach((segment, index) => {
      const name = segment === "" ? String(Object.keys(node).length) : segment;
      if (index === path.length - 1) {
        node[name] = value;
        return;
      }
      const child = node[name];
      if (!isObject(child)) node[name] = {};
      node = node[name] as Params;
    });
  }
  return arrayify(root) as Params;
}

function arrayify(value: unknown): unknown {
  if (!isObject(value)) return value;
  const entries = Object.entries(value).map(([key, item]) => [key, arrayify(item)] as const);
  const isList = entries.length > 0 && entries.every(([key]) => /^\d+$/.test(key));
  if (!isList) return Object.fromEntries(entries);
  return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, item]) => item);
}

function isObject(value: unknown): value is Params {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(name, `Invalid string: ${name} must be a string.`);
  return value;
}

function metadataOf(params: Params): Record<string, string> {
  const metadata = params.metadata;
  if (metadata === undefined || metadata === "") return {};
  if (!isObject(metadata)) throw invalid("metadata", "Invalid object: metadata must be a hash.");
  if (Object.keys(metadata).length > 50) throw invalid("metadata", "Metadata can have at most 50 keys.");
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") throw invalid(`metadata[${key}]`, "Metadata values must be strings.");
  }
  return metadata as Record<string, string>;
}

function checkLineItem(item: unknown, index: number): void {
  const param = `line_items[${index}]`;
  if (!isObject(item)) throw invalid(param, `Invalid object: ${param} must be a hash.`);
  if (item.price === undefined && item.price_data === undefined) throw missing(`${param}[price]`);
  if (item.price !== undefined && (typeof item.price !== "string" || !/^price_\w+$/.test(item.price))) {
    throw new StripeApiError(400, `No such price: '${String(item.price)}'`, {
      code: "resource_missing",
      param: `${param}[price]`,
    });
  }
  if (item.quantity !== undefined && !/^[1-9]\d*$/.test(String(item.quantity))) {
    throw invalid(`${param}[quantity]`, "Invalid positive integer");
  }
}

function checkUrl(params: Params, param: string): void {
  const value = optionalString(params, param);
  if (value === undefined) return;
  // {CHECKOUT_SESSION_ID} is Stripe's placeholder, replaced on redirect.
  if (!URL.canParse(value.replaceAll("{CHECKOUT_SESSION_ID}", "x")) || !/^https?:/.test(value)) {
    throw invalid(param, `Not a valid URL: ${param}`);
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new StripeApiError(413, "Request body too large.");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function errorReply(error: unknown): Reply {
  if (error instanceof StripeApiError) {
    const body = {
      error: {
        type: error.type,
        message: error.message,
        ...(error.code ? { code: error.code } : {}),
        ...(error.param ? { param: error.param } : {}),
      },
    };
    // Stripe marks client errors as not worth retrying; the SDK honours it.
    return { status: error.status, body, headers: { "Stripe-Should-Retry": "false" } };
  }
  if (error instanceof SyntaxError) return { status: 400, body: { error: `invalid JSON: ${error.message}` } };
  return { status: 500, body: { error: { type: "api_error", message: String(error) } } };
}

function send(res: ServerResponse, reply: Reply): void {
  const json = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(json),
    "Request-Id": randomId("req"),
  });
  res.end(json);
}
