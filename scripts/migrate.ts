// `npm run db:migrate`: applies drizzle/ migrations to DATABASE_URL (any environment's database).
import { applyMigrations } from "./stack/migrate.ts";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("db:migrate needs DATABASE_URL (postgres://user:password@host/db)");
  process.exit(1);
}
await applyMigrations(url);
console.log(`migrations applied to ${new URL(url).host}${new URL(url).pathname}`);
