import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { FromGenerator, LoadSample, LoadSpec, ToGenerator } from "./load-generator.ts";

export type { LoadSample, LoadSpec };

export interface LoadClient {
  pid: number | undefined;
  /** Sends a set of API keys once; specs then name it, and each request takes the next key. */
  defineKeySet(name: string, keys: string[]): Promise<void>;
  run(spec: LoadSpec): Promise<LoadSample>;
  close(): Promise<void>;
}

/** Omit distributed over a union: each message kind without its id. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Starts the load generator (load-generator.ts) as a child process and talks to it over IPC. */
export function startLoadClient(): LoadClient {
  const child: ChildProcess = fork(join(import.meta.dirname, "load-generator.ts"), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<
    number,
    { resolve: (sample?: LoadSample) => void; reject: (error: Error) => void }
  >();
  let nextId = 1;
  child.on("message", (message: FromGenerator) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.type === "done") waiter.resolve(message.sample);
    else waiter.reject(new Error(`load generator: ${message.message}`));
  });
  child.on("exit", (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`load generator exited (${code})`));
    pending.clear();
  });

  function send(message: WithoutId<ToGenerator>): Promise<LoadSample | undefined> {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ ...message, id } as ToGenerator);
    });
  }

  return {
    pid: child.pid,
    async defineKeySet(name, keys) {
      await send({ type: "keys", name, keys });
    },
    async run(spec) {
      const sample = await send({ type: "run", spec });
      if (!sample) throw new Error("load generator: no sample returned");
      return sample;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
