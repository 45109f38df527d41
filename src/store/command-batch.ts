import type { Redis } from "@upstash/redis/cloudflare";

type Pipeline = ReturnType<Redis["pipeline"]>;

/**
 * Collects Redis commands from several callers (a lease and the usage batches that ride with it) and sends
 * them in ONE HTTP request to Upstash's /pipeline.
 * A command enqueued after the batch was sent (e.g. an EVAL fallback after NOSCRIPT, store/scripts.ts) runs on
 * its own, so callers never wait on a batch that already left.
 */
export class CommandBatch {
  private readonly pipeline: Pipeline;
  private readonly waiters: Array<{ resolve: (value: unknown) => void; reject: (error: Error) => void }> = [];
  private sent = false;

  constructor(private readonly redis: Redis) {
    this.pipeline = redis.pipeline();
  }

  /** Adds a command; its promise settles when the batch is executed. */
  add<T>(command: (pipeline: Pipeline) => unknown): Promise<T> {
    if (this.sent) {
      const single = this.redis.pipeline();
      command(single);
      return single.exec({ keepErrors: true }).then(([reply]) => unwrap(reply)) as Promise<T>;
    }
    command(this.pipeline);
    const reply = new Promise<T>((resolve, reject) => {
      this.waiters.push({ resolve: resolve as (value: unknown) => void, reject });
    });
    // When the whole batch fails, execute() throws for the caller; replies nobody awaits must not
    // surface as unhandled rejections.
    reply.catch(() => {});
    return reply;
  }

  /** Sends every queued command in one request; rejects (and fails every command) if the request fails. */
  async execute(): Promise<void> {
    this.sent = true;
    if (this.waiters.length === 0) return;
    try {
      const replies = await this.pipeline.exec({ keepErrors: true });
      this.waiters.forEach((waiter, index) => {
        try {
          waiter.resolve(unwrap(replies[index]));
        } catch (error) {
          waiter.reject(error as Error);
        }
      });
    } catch (error) {
      for (const waiter of this.waiters) waiter.reject(error as Error);
      throw error;
    }
  }
}

function unwrap(reply: { result?: unknown; error?: string } | undefined): unknown {
  if (!reply) throw new Error("Redis pipeline returned fewer replies than commands");
  // The "Command failed" wording matches @upstash/redis; evalScript (store/scripts.ts) tests it for NOSCRIPT.
  if (reply.error) throw new Error(`Command failed: ${reply.error}`);
  return reply.result;
}
