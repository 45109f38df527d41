import type { Config } from "../config";
import type { Logger } from "../lib/log";

export interface OpenApiDocument {
  openapi?: string;
  info?: Record<string, unknown>;
  paths?: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  tags?: Array<{ name: string; description?: string }>;
  [key: string]: unknown;
}

const CACHE_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 3000;
let cached: { url: string; fetchedAt: number; document: OpenApiDocument } | undefined;

/**
 * The origin's own OpenAPI document, cached in isolate memory for five minutes. When the origin cannot
 * serve it, the last good copy is used; with none, the docs show the gateway's routes alone.
 */
export async function originDocument(
  config: Config,
  log: Logger,
  now = Date.now(),
): Promise<OpenApiDocument | undefined> {
  const url = config.originOpenapiUrl ?? new URL("/openapi.json", config.originUrl).toString();
  if (cached?.url === url && now - cached.fetchedAt < CACHE_MS) return cached.document;
  try {
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`origin answered ${response.status}`);
    const document = (await response.json()) as OpenApiDocument;
    if (typeof document !== "object" || document === null || typeof document.paths !== "object") {
      throw new Error("not an OpenAPI document (no paths)");
    }
    cached = { url, fetchedAt: now, document };
    return document;
  } catch (error) {
    log.warn("origin OpenAPI document unavailable", { error });
    return cached?.url === url ? cached.document : undefined;
  }
}
