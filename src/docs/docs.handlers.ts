import type { Context } from "hono";
import type { AppEnv } from "../lib/context";
import { ApiError } from "../lib/errors";
import { codeSamples, sampleOperation } from "./code-samples";
import { mergeDocuments } from "./merge-document";
import { type OpenApiDocument, originDocument } from "./origin-document";
import { problemDocumentation, problemIndex, problemIndexPage, problemPage } from "./problem-pages";
import { REFERENCE_BOOT_SCRIPT, referencePage } from "./reference-page";

/** Scalar's bundle changes only with the pinned package version, i.e. with a deploy. */
const ASSET_CACHE = "public, max-age=3600";
/** What a developer copies before they have a key. */
const KEY_PLACEHOLDER = "YOUR_API_KEY";

type DocsContext = Context<AppEnv>;

const wantsJson = (accept: string | undefined) => /\bapplication\/(problem\+)?json\b/.test(accept ?? "");

/** GET /openapi.json: the gateway's public document merged with the origin's, with code samples. */
export const openApiHandler = (publicDocument: () => OpenApiDocument) => async (c: DocsContext) => {
  const config = c.get("config");
  const origin = await originDocument(config, c.get("log"));
  const sample = sampleOperation(origin, config.apiPrefixes);
  const samples = sample ? codeSamples(c.get("services").portalBase, sample, KEY_PLACEHOLDER) : undefined;
  return c.json(mergeDocuments(config, publicDocument(), origin, samples));
};

/** GET /docs: the interactive reference (the pinned @scalar/api-reference bundle this worker serves). */
export const referenceHandler = (c: DocsContext) => c.html(referencePage({ title: "API reference" }));

/** The reference's script, from the worker's static assets (ASSETS binding). */
export async function referenceScriptHandler(c: DocsContext) {
  const assets = c.env.ASSETS;
  if (!assets)
    throw new ApiError("not_found", {
      detail: "The reference's script is not deployed (no ASSETS binding).",
    });
  const asset = await assets.fetch(new URL("/standalone.js", c.req.url));
  if (!asset.ok)
    throw new ApiError("not_found", { detail: "The reference's script is missing from the assets." });
  return new Response(asset.body, {
    headers: { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": ASSET_CACHE },
  });
}

/** The few lines that start the reference (a file, so the CSP needs no inline script). */
export const referenceBootHandler = (c: DocsContext) =>
  c.body(REFERENCE_BOOT_SCRIPT, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": ASSET_CACHE,
  });

/** GET /problems: every problem type, as JSON or HTML by Accept. */
export const problemsHandler = (c: DocsContext) =>
  wantsJson(c.req.header("Accept")) ? c.json({ problems: problemIndex() }) : c.html(problemIndexPage());

/** GET /problems/{type}: one problem type, as JSON or HTML by Accept. */
export const problemHandler = (c: DocsContext) => {
  const slug = c.req.param("slug") ?? "";
  return wantsJson(c.req.header("Accept")) ? c.json(problemDocumentation(slug)) : c.html(problemPage(slug));
};
