import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Stripe from "stripe";
import { listen } from "../net.ts";
import { type Caller, routeApi } from "./api.ts";
import { advancePeriod, type Engine, requireSubscription } from "./billing.ts";
import { catalogFromPlans, type StandinPrice } from "./catalog.ts";
import { errorReply, type Reply, StripeApiError } from "./errors.ts";
import { decodeStripeForm, type Params } from "./form.ts";
import {
  abandonCheckout,
  checkoutPage,
  type Page,
  portalAction,
  portalPage,
  submitCheckout,
} from "./pages.ts";
import { clone, loadData, nowSeconds, randomId, type StripeObject, saveData } from "./store.ts";
import { type WebhookTarget, webhookSender } from "./webhooks.ts";

export { decodeStripeForm } from "./form.ts";

/**
 * A small, persistent Stripe for the local stack and the tests, because Stripe's servers cannot be reached
 * from here. It speaks Stripe's API (form bodies, secret keys, Stripe's error shape and idempotency) for
 * what the gateway calls: customers (incl. delete), subscriptions (create, retrieve, list, update, cancel,
 * resume), Checkout and billing-portal sessions, invoice previews and payment, meter events, and events, so
 * the stripe package drives it exactly as real Stripe. Its hosted pages (pages.ts) complete a Checkout in a
 * browser; every change produces Stripe's events, which are sent signed to the webhook endpoint when one is
 * configured (as `stripe listen` does) and can be listed with GET /v1/events (as tests do).
 *
 * Not Stripe: the /__standin/ routes. Tests read and clear the record of calls there, and advance a
 * subscription to the end of its period (what Stripe's test clocks do).
 */
export interface StripeStandinOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, see `url`. */
  port?: number;
  /** Where its state persists across restarts; none: memory only. */
  stateFile?: string;
  /** The gateway's webhook endpoint and its signing secret (STRIPE_WEBHOOK_SECRET). */
  webhook?: WebhookTarget;
  /** Prices it knows; default: those plans.ts names (catalog.ts). */
  prices?: StandinPrice[];
  log?: (line: string) => void;
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
  /** Resolves once every event so far has been delivered to the webhook (or given up on). */
  webhooksIdle(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const SECRET_KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;
const FORM_TYPE = /^application\/x-www-form-urlencoded(\s*;.*)?$/i;
/** Events kept (Stripe keeps 30 days); older ones are dropped from the file. */
const MAX_EVENTS = 20_000;

export async function startStripeStandin(opts: StripeStandinOptions = {}): Promise<StripeStandin> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? (() => {});
  const calls: RecordedCall[] = [];
  const data = loadData(opts.stateFile);
  const sender = webhookSender(opts.webhook, log);
  let baseUrl = "";
  const engine: Engine = {
    data,
    prices: new Map((opts.prices ?? catalogFromPlans()).map((price) => [price.id, price])),
    livemode: false,
    emit(type, object, previous) {
      const event: StripeObject = {
        id: randomId("evt"),
        object: "event",
        api_version: Stripe.API_VERSION,
        created: nowSeconds(),
        data: { object: clone(object), ...(previous ? { previous_attributes: clone(previous) } : {}) },
        livemode: engine.livemode,
        pending_webhooks: opts.webhook ? 1 : 0,
        request: { id: null, idempotency_key: null },
        type,
      };
      data.events.push(event);
      if (data.events.length > MAX_EVENTS) data.events.splice(0, data.events.length - MAX_EVENTS);
      sender.send(event);
    },
  };

  /** A Stripe API request: authenticate, decode, replay or run, record. */
  async function api(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method ?? "GET";
    const body = await readBody(req);
    let params: Params = {};
    let caller: Caller | undefined;
    let reply: Reply;
    try {
      caller = authenticate(req.headers.authorization);
      engine.livemode = caller.livemode;
      if (method === "POST") {
        if (body !== "" && !FORM_TYPE.test(req.headers["content-type"] ?? "")) {
          throw new StripeApiError(
            400,
            "Invalid request (check that your POST content type is application/x-www-form-urlencoded).",
          );
        }
        params = decodeStripeForm(body);
      } else {
        params = decodeStripeForm(url.search.slice(1));
      }
      const who = caller;
      reply = runIdempotently(req, method, url.pathname, body, who, () =>
        routeApi({ engine, baseUrl }, method, url.pathname, params, who),
      );
    } catch (error) {
      reply = errorReply(error);
    }
    if (method !== "GET") saveData(opts.stateFile, data);
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
    const scoped = `${caller.apiKey.slice(-8)}\n${key}`;
    const fingerprint = `${method} ${path}\n${body}`;
    const earlier = data.idempotent[scoped];
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
    if (reply.status < 300) data.idempotent[scoped] = { fingerprint, reply };
    return reply;
  }

  /** Not Stripe: what tests need to see and do. */
  async function standin(req: IncomingMessage, url: URL): Promise<Reply> {
    await readBody(req);
    if (url.pathname === "/__standin/calls" && req.method === "GET") return { status: 200, body: { calls } };
    if (url.pathname === "/__standin/calls" && req.method === "POST") {
      calls.length = 0;
      return { status: 200, body: { calls } };
    }
    const advance = /^\/__standin\/subscriptions\/([^/]+)\/advance$/.exec(url.pathname);
    if (advance && req.method === "POST") {
      try {
        const subscription = advancePeriod(engine, requireSubscription(engine, advance[1] as string));
        saveData(opts.stateFile, data);
        return { status: 200, body: subscription };
      } catch (error) {
        return errorReply(error);
      }
    }
    return { status: 404, body: { error: `no stand-in route ${req.method} ${url.pathname}` } };
  }

  /** The hosted Checkout and billing-portal pages. */
  async function pages(req: IncomingMessage, url: URL): Promise<Page> {
    const form = new URLSearchParams(await readBody(req));
    const post = req.method === "POST";
    const checkout = /^\/c\/pay\/([^/]+)(\/expire)?$/.exec(url.pathname);
    const portal = /^\/p\/session\/([^/]+)(\/.*)?$/.exec(url.pathname);
    let page: Page;
    if (checkout?.[1] && !post) page = checkoutPage(engine, checkout[1]);
    else if (checkout?.[1] && checkout[2]) page = abandonCheckout(engine, checkout[1]);
    else if (checkout?.[1]) page = submitCheckout(engine, checkout[1], form.get("card") ?? "pm_card_visa");
    else if (portal?.[1] && !post) page = portalPage(engine, portal[1]);
    else if (portal?.[1]) page = portalAction(engine, portal[1], portal[2] ?? "", url.searchParams);
    else page = { status: 404, body: { error: { type: "invalid_request_error", message: "Not found." } } };
    if (post) saveData(opts.stateFile, data);
    return page;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://standin");
    const handler = url.pathname.startsWith("/__standin/")
      ? standin
      : url.pathname.startsWith("/v1/")
        ? api
        : pages;
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
    webhooksIdle: () => sender.idle(),
    close: () =>
      new Promise<void>((resolve) => {
        sender.stop();
        saveData(opts.stateFile, data);
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

function send(res: ServerResponse, reply: Page): void {
  if (reply.location) {
    res.writeHead(reply.status, { Location: reply.location, "Content-Length": 0 });
    res.end();
    return;
  }
  const isHtml = reply.html !== undefined;
  const text = isHtml ? (reply.html as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    "Content-Type": isHtml ? "text/html; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Request-Id": `req_${randomBytes(8).toString("hex")}`,
  });
  res.end(text);
}
