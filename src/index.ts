import { createApp } from "./app";
import type { Bindings } from "./config";
import { runScheduledJobs } from "./jobs/scheduled";

const app = createApp();

export default {
  fetch: app.fetch,
  /** Cron Triggers (wrangler.toml): key retirement, usage rollup, pruning. */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Bindings>;
