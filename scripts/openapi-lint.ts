// CI check: the gateway's three OpenAPI documents are valid. `npm run lint:openapi`.
// Builds the worker's app in Node (vite's module runner: the same source, no workerd), asks it for
// /openapi.json (merged with the demo origin's document), /admin/v1/openapi.json and
// /portal/api/openapi.json, writes them to .cache/openapi/, then validates each with swagger-parser and lints
// each with `redocly lint` (its recommended rules; errors fail, warnings are printed).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import { runnerImport } from "vite";
import { startDemoOrigin } from "./stack/demo-origin.ts";

const root = join(import.meta.dirname, "..");
const outdir = join(root, ".cache", "openapi");
const ADMIN_TOKEN = "openapi-lint-admin-token";
const DOCUMENTS = {
  public: "/openapi.json",
  admin: "/admin/v1/openapi.json",
  portal: "/portal/api/openapi.json",
} as const;

/** Writes the three documents to `dir` and returns their paths. Exported for tests. */
export async function writeDocuments(dir: string): Promise<Record<keyof typeof DOCUMENTS, string>> {
  const { module } = await runnerImport<{
    createApp: () => { request: (...args: unknown[]) => Promise<Response> };
  }>(join(root, "src", "app.ts"));
  const origin = await startDemoOrigin();
  try {
    const app = module.createApp();
    // Settings the app parses on each request; nothing here is connected to (no route below touches them).
    const env = {
      ORIGIN_URL: origin.url,
      API_PREFIXES: "/v1",
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
      UPSTASH_REDIS_REST_TOKEN: "unused",
      DATABASE_URL: "postgres://unused@127.0.0.1:9/unused",
      ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: "error",
    };
    const executionCtx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
    mkdirSync(dir, { recursive: true });
    const paths = {} as Record<keyof typeof DOCUMENTS, string>;
    for (const [name, path] of Object.entries(DOCUMENTS) as Array<[keyof typeof DOCUMENTS, string]>) {
      const headers = { Authorization: `Bearer ${ADMIN_TOKEN}` };
      const response = await app.request(path, { headers }, env, executionCtx as never);
      if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
      paths[name] = join(dir, `${name}.json`);
      writeFileSync(paths[name], JSON.stringify(await response.json(), null, 2));
    }
    return paths;
  } finally {
    await origin.close();
  }
}

if (import.meta.main) {
  const paths = await writeDocuments(outdir);
  let failed = false;
  for (const [name, path] of Object.entries(paths)) {
    try {
      // validate() dereferences in place: give it its own copy.
      await SwaggerParser.validate(path);
      console.log(`openapi: ${name} passes swagger-parser validation`);
    } catch (error) {
      failed = true;
      console.error(`openapi: ${name} fails swagger-parser validation: ${(error as Error).message}`);
    }
  }
  try {
    execFileSync(
      join(root, "node_modules", ".bin", "redocly"),
      ["lint", "--format=stylish", ...Object.values(paths)],
      {
        stdio: "inherit",
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
    );
  } catch {
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}
