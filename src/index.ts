import { createGateway } from "./app";
import type { Bindings } from "./config";
import { runScheduledJobs } from "./jobs/scheduled";

export default {
  fetch: createGateway(),
  /** Cron Triggers (wrangler.toml): every minute the usage spool's replay; every five, every job. */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env, new Date(controller.scheduledTime), undefined, controller.cron));
  },
} satisfies ExportedHandler<Bindings>;
