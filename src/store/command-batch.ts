import type { Redis } from "@upstash/redis/cloudflare";

type Pipeline = ReturnType<Redis["pipeline"]>;

/**
 * Collects Redis commands from several callers (our own and @upstash/ratelimit's) and sends them in ONE
 * HTTP request to Upstash's /pipeline: the hot path's whole Redis budget is that single round trip.
 * A command enqueued after the batch was sent (e.g. the limiter's EVAL fallback after NOSCRIPT) runs on
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

  get size(): number {
    return this.waiters.length;
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

  /** A minimal Redis facade for @upstash/ratelimit whose script calls join this batch. */
  limiterFacade(): Redis {
    return {
      evalsha: (sha: string, keys: string[], args: unknown[]) => this.add((p) => p.evalsha(sha, keys, args)),
      eval: (script: string, keys: string[], args: unknown[]) => this.add((p) => p.eval(script, keys, args)),
    } as unknown as Redis;
  }
}

function unwrap(reply: { result?: unknown; error?: string } | undefined): unknown {
  if (!reply) throw new Error("Redis pipeline returned fewer replies than commands");
  // The "Command failed" wording matches @upstash/redis, whose callers (the limiter's NOSCRIPT fallback) test it.
  if (reply.error) throw new Error(`Command failed: ${reply.error}`);
  return reply.result;
}
