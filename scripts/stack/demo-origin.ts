import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";

/**
 * The demo origin API: what a new user calls through the gateway on the first run, and what the tests
 * proxy to. /v1/echo reflects exactly what arrived, so tests can see which headers the gateway forwarded.
 */
const Item = z.object({ id: z.string(), name: z.string(), price: z.number() }).openapi("Item");
const Echo = z
  .object({
    method: z.string(),
    path: z.string(),
    query: z.string(),
    headers: z.record(z.string(), z.string()),
    body: z.string(),
  })
  .openapi("Echo");

const items: z.infer<typeof Item>[] = [
  { id: "1", name: "Edge latte", price: 3.5 },
  { id: "2", name: "Origin espresso", price: 2.75 },
];

const hello = createRoute({
  method: "get",
  path: "/v1/hello",
  tags: ["Demo"],
  summary: "Say hello",
  request: { query: z.object({ name: z.string().max(64).optional() }) },
  responses: {
    200: {
      description: "A greeting",
      content: { "application/json": { schema: z.object({ message: z.string() }) } },
    },
  },
});

const listItems = createRoute({
  method: "get",
  path: "/v1/items",
  tags: ["Demo"],
  summary: "List items",
  responses: {
    200: {
      description: "All items",
      content: { "application/json": { schema: z.object({ items: z.array(Item) }) } },
    },
  },
});

const getItem = createRoute({
  method: "get",
  path: "/v1/items/{id}",
  tags: ["Demo"],
  summary: "Get one item",
  request: { params: z.object({ id: z.string() }) },
  responses: {
    200: { description: "The item", content: { "application/json": { schema: Item } } },
    404: { description: "No such item" },
  },
});

const echoRoute = (method: "get" | "post" | "put" | "patch" | "delete") =>
  createRoute({
    method,
    path: "/v1/echo",
    tags: ["Demo"],
    summary: "Reflect the request as the origin received it",
    responses: { 200: { description: "What arrived", content: { "application/json": { schema: Echo } } } },
  });

export function createDemoOriginApp() {
  const app = new OpenAPIHono();
  app.openapi(hello, (c) => c.json({ message: `Hello, ${c.req.valid("query").name ?? "world"}!` }, 200));
  app.openapi(listItems, (c) => c.json({ items }, 200));
  app.openapi(getItem, (c) => {
    const item = items.find((candidate) => candidate.id === c.req.valid("param").id);
    return item ? c.json(item, 200) : c.json({ error: "not found" }, 404);
  });
  for (const method of ["get", "post", "put", "patch", "delete"] as const) {
    app.openapi(echoRoute(method), async (c) => {
      const url = new URL(c.req.url);
      return c.json(
        {
          method: c.req.method,
          path: url.pathname,
          query: url.search,
          headers: Object.fromEntries(c.req.raw.headers),
          body: await c.req.text(),
        },
        200,
      );
    });
  }
  // Not in the OpenAPI document: helpers for timeout and redirect tests.
  app.get("/v1/slow", async (c) => {
    const ms = Math.min(Number(c.req.query("ms") ?? 1000), 60_000);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return c.json({ sleptMs: ms });
  });
  // Headers at once, then the body in 4 chunks spread over `ms`: a slow body is not a slow origin.
  app.get("/v1/drip", (c) => {
    const ms = Math.min(Number(c.req.query("ms") ?? 1000), 60_000);
    const chunks = 4;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, ms / chunks));
        controller.enqueue(new TextEncoder().encode(`chunk ${sent}\n`));
        if (++sent === chunks) controller.close();
      },
    });
    return new Response(body, { headers: { "Content-Type": "text/plain" } });
  });
  app.get("/v1/redirect", (c) => c.redirect(c.req.query("to") ?? "/v1/hello", 302));
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Demo API",
      version: "1.0.0",
      description: "The demo origin that ships with the gateway.",
    },
  });
  return app;
}

export interface DemoOrigin {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDemoOrigin(opts: { host?: string; port?: number } = {}): Promise<DemoOrigin> {
  const app = createDemoOriginApp();
  const host = opts.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port: opts.port ?? 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
    // A busy port: an error to report (EADDRINUSE), not an uncaught exception that leaves the stack running.
    server.once("error", reject);
  });
}
