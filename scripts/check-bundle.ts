// CI check: the worker bundles for production, and its compressed size stays under the Workers Free plan's
// 3 MiB limit. Prints the figure. `npm run check:bundle`.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT_BYTES = 3 * 1024 * 1024;
const outdir = join(import.meta.dirname, "..", ".cache", "bundle");
rmSync(outdir, { recursive: true, force: true });
execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir, "--env", "production"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
let raw = 0;
let compressed = 0;
for (const file of readdirSync(outdir, { recursive: true }) as string[]) {
  if (!/\.(m?js|wasm)$/.test(file)) continue;
  const bytes = readFileSync(join(outdir, file));
  raw += bytes.length;
  compressed += gzipSync(bytes, { level: 9 }).length;
}
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `bundle: ${kib(raw)} raw, ${kib(compressed)} gzip (Free plan limit ${kib(LIMIT_BYTES)} compressed)`,
);
if (raw === 0) {
  console.error("bundle: no JavaScript was produced");
  process.exit(1);
}
if (compressed > LIMIT_BYTES) {
  console.error("bundle: over the limit");
  process.exit(1);
}
