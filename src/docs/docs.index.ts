import { createRouter } from "../lib/create-router";
import {
  openApiHandler,
  problemHandler,
  problemsHandler,
  referenceBootHandler,
  referenceHandler,
  referenceScriptHandler,
} from "./docs.handlers";
import { docsCache, docsPaths, problemsPolicy, referencePolicy } from "./docs.routes";
import type { OpenApiDocument } from "./origin-document";

/**
 * GET /openapi.json (the merged document), GET /docs (the interactive reference of it, rendered by the pinned
 * @scalar/api-reference bundle this worker serves itself: it works offline and is the same on every deploy),
 * and GET /problems/{type} (what each RFC 9457 problem type means). Documents and the reference are cached
 * at the edge with the Cache API for five minutes.
 */
export function createDocsRouter(publicDocument: () => OpenApiDocument) {
  const cached = docsCache();
  const problems = problemsPolicy();
  return createRouter()
    .get(docsPaths.openapi, cached, openApiHandler(publicDocument))
    .get(docsPaths.reference, referencePolicy(), cached, referenceHandler)
    .get(docsPaths.referenceScript, referenceScriptHandler)
    .get(docsPaths.referenceBoot, referenceBootHandler)
    .get(docsPaths.problems, problems, problemsHandler)
    .get(docsPaths.problem, problems, problemHandler);
}
