import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listen } from "../../../scripts/stack/net.ts";

/** A dependency the suite can take away and give back: stop() and start() leave it on the same address. */
export interface Switchable {
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Takes it away as a crash would (SIGKILL: no shutdown, nothing flushed); stop() where no crash applies. */
  kill(): Promise<void>;
}

const ACTIONS = ["stop", "start", "kill"] as const;
type Action = (typeof ACTIONS)[number];

/**
 * Makes stop()/kill()/start() idempotent: a test restoring services in its afterAll must not start a second
 * redis-server on a port still taken (which would orphan the first), nor stop one twice.
 */
export function switchable(
  stop: () => Promise<void>,
  start: () => Promise<void>,
  kill: () => Promise<void> = stop,
): Switchable {
  let running = true;
  let busy: Promise<void> = Promise.resolve();
  const toggle = (want: boolean, act: () => Promise<void>) => {
    busy = busy
      .catch(() => {})
      .then(async () => {
        if (running === want) return;
        await act();
        running = want;
      });
    return busy;
  };
  return {
    stop: () => toggle(false, stop),
    start: () => toggle(true, start),
    kill: () => toggle(false, kill),
  };
}

export interface ControlServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

/**
 * Lets test files (in vitest's workers) reach what the global setup owns: `POST /faults/<name>/<stop|kill|start>`
 * takes a service away (gently, or as a crash) or gives it back, `GET /read/<name>?from=N` returns what a reader exposes (the
 * origin's records, the decoy's hits). Loopback only, behind a random bearer token.
 */
export async function startControlServer(opts: {
  switches: Record<string, Switchable>;
  readers: Record<string, (query: URLSearchParams) => unknown>;
}): Promise<ControlServer> {
  const token = randomBytes(16).toString("hex");
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    void route(req).then(
      ([status, body]) => reply(res, status, body),
      (error: unknown) => reply(res, 500, { error: String((error as Error)?.message ?? error) }),
    );
  });
  async function route(req: IncomingMessage): Promise<[number, unknown]> {
    if (req.headers.authorization !== `Bearer ${token}`) return [401, { error: "token" }];
    const url = new URL(req.url ?? "/", "http://control");
    const [, kind, name = "", action] = url.pathname.split("/");
    if (kind === "faults" && req.method === "POST") {
      const target = opts.switches[name];
      if (!target || !ACTIONS.includes(action as Action)) return [404, { error: "no such switch" }];
      await target[action as Action]();
      return [200, { [name]: action === "start" ? "started" : "stopped" }];
    }
    const reader = opts.readers[name];
    if (kind === "read" && reader) return [200, reader(url.searchParams)];
    return [404, { error: "not found" }];
  }
  const port = await listen(server, 0, "127.0.0.1");
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}
