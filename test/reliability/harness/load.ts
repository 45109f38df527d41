import { call, type TestKey } from "./client.ts";

/** One request of a load run, as the client saw it. */
export interface LoadAnswer {
  /** Unique in the run: sent as ?rid= so the origin's records can name the request. */
  rid: string;
  accountId: string;
  base: string;
  /** The HTTP status, or "error" when no answer came (connection refused or cut, client deadline). */
  status: number | "error";
}

export interface Load {
  /** Answers so far (errors included). */
  answered(): number;
  /** Lets the requests in flight finish, sends no more, and returns every answer. */
  stop(): Promise<LoadAnswer[]>;
  /** Resolves with every answer once `total` requests have been answered (or stop() was called). */
  done: Promise<LoadAnswer[]>;
}

/**
 * `total` requests over `workers` loops, each sending its next request when the previous one is answered
 * (so the concurrency is the number of workers), each with its own key and gateway. Every request is checked
 * by the suite's oracle (harness/client.ts); one that gets no answer is recorded as "error", not thrown.
 */
export function startLoad(opts: {
  tag: string;
  total: number;
  workers: Array<{ base: string; key: TestKey }>;
  area: string;
}): Load {
  const answers: LoadAnswer[] = [];
  let next = 0;
  let running = true;
  const loops = opts.workers.map(async ({ base, key }) => {
    while (running && next < opts.total) {
      const rid = `${opts.tag}-${next++}`;
      let status: number | "error";
      try {
        status = (await call(base, `/v1/hello?rid=${rid}`, { apiKey: key.key, area: opts.area })).status;
      } catch {
        status = "error";
      }
      answers.push({ rid, accountId: key.accountId, base, status });
    }
  });
  const done = Promise.all(loops).then(() => answers);
  return {
    answered: () => answers.length,
    stop() {
      running = false;
      return done;
    },
    done,
  };
}

/** Resolves once `load` has `count` answers (polling; bounded by `maxMs`). */
export async function answeredAtLeast(load: Load, count: number, maxMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (load.answered() < count) {
    if (Date.now() > deadline) throw new Error(`only ${load.answered()} of ${count} answers in ${maxMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Answers by status, e.g. { "200": 1480, "error": 3 }. */
export function statusTally(answers: LoadAnswer[]): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const { status } of answers) tally[status] = (tally[status] ?? 0) + 1;
  return tally;
}

/** The rid a request carried, from the target the origin received. */
export function ridOf(target: string): string | undefined {
  return /[?&]rid=([\w-]+)/.exec(target)?.[1];
}
