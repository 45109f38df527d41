// The load generator, run as a child process of the benchmark (see load-client.ts): autocannon gets an
// event loop and a heap of its own, so it neither slows nor is slowed by the local stack (demo origin,
// Upstash bridge, Neon proxy), which runs in the benchmark's own process.
import autocannon from "autocannon";

/** One measured (or warm-up) burst of requests against one URL. */
export interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  durationSec?: number;
  /** Exactly this many requests. */
  amount?: number;
  /** Requests per second from all connections together (open-loop pacing); unpaced when absent. */
  overallRate?: number;
  /** Name of a key set sent before: each request carries the next key of it (round robin, across phases). */
  keySet?: string;
  /** Warm-ups need only counts, not every latency. */
  keepLatencies: boolean;
}

export interface LoadSample {
  /** Responses received (any status). */
  responses: number;
  /** From the first request sent to the last response, in seconds. */
  elapsedSec: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Every response's time in ms (float), when asked for. */
  latencies: number[];
}

export type ToGenerator =
  | { type: "keys"; id: number; name: string; keys: string[] }
  | { type: "run"; id: number; spec: LoadSpec };

export type FromGenerator =
  | { type: "done"; id: number; sample?: LoadSample }
  | { type: "failed"; id: number; message: string };

const keySets = new Map<string, { keys: string[]; next: number }>();

function run(spec: LoadSpec): Promise<LoadSample> {
  const set = spec.keySet ? keySets.get(spec.keySet) : undefined;
  if (spec.keySet && !set) throw new Error(`unknown key set ${spec.keySet}`);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let responses = 0;
  let firstSent = 0;
  let lastResponse = 0;
  // Every target gets the same request, key header included (the origin and the bare proxy ignore it), so
  // the client's own work per request is the same whatever it measures.
  const request = {
    method: "GET",
    setupRequest: (req: { headers?: Record<string, string> }) => {
      if (firstSent === 0) firstSent = performance.now();
      if (!set) return req;
      const key = set.keys[set.next % set.keys.length] as string;
      set.next++;
      return { ...req, headers: { ...req.headers, "x-api-key": key } };
    },
  };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        // autocannon rejects options present but undefined.
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationSec ?? 5 }),
        ...(spec.overallRate !== undefined ? { overallRate: spec.overallRate } : {}),
        timeout: 10,
        requests: [request],
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        resolve({
          responses,
          elapsedSec: Math.max(1e-3, (lastResponse - firstSent) / 1000),
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          latencies,
        });
      },
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      responses++;
      lastResponse = performance.now();
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (spec.keepLatencies) latencies.push(ms);
    });
  });
}

function reply(message: FromGenerator): void {
  process.send?.(message);
}

process.on("message", (message: ToGenerator) => {
  if (message.type === "keys") {
    keySets.set(message.name, { keys: message.keys, next: 0 });
    reply({ type: "done", id: message.id });
    return;
  }
  Promise.resolve()
    .then(() => run(message.spec))
    .then(
      (sample) => reply({ type: "done", id: message.id, sample }),
      (error: unknown) =>
        reply({
          type: "failed",
          id: message.id,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
});
// The benchmark is gone (finished, crashed or killed): do not outlive it.
process.on("disconnect", () => process.exit(0));
