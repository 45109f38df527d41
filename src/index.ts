import { createApp } from "./app";
import type { Bindings } from "./config";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller, _env, _ctx) {
    // Cron jobs (key retirement, usage rollups) arrive with the key lifecycle work.
  },
} satisfies ExportedHandler<Bindings>;
