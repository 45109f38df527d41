// `node drop-database.ts <server url> <name>`: drops a run's database from a detached process, for a run
// that ends before its teardown (vitest exits on Ctrl-C without running it).
import { dropDatabase } from "../../../scripts/stack/migrate.ts";

const [serverUrl, name] = process.argv.slice(2);
if (serverUrl && name) await dropDatabase(serverUrl, name).catch(() => {});
