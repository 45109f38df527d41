import type { Config } from "../config";
import type { Logger } from "../lib/log";
import { isUnderPrefix } from "../lib/paths";
import { type OpenApiDocument, originDocument } from "./origin-document";

/**
 * Ready-to-run code samples for the owner's API, taken from the origin's OpenAPI document, so the first
 * command a developer copies calls an operation that exists.
 */

/** An operation extension the owner sets on the one operation samples should call: `x-gateway-sample: true`. */
const SAMPLE_MARK = "x-gateway-sample";

interface SampleOperation {
  method: string;
  /** The path as documented (no path parameters unless the operation was marked and gives examples). */
  path: string;
  summary?: string;
  /** A JSON body example for POST/PUT/PATCH, from the operation's requestBody. */
  body?: unknown;
}

export interface CodeSamples {
  operation: SampleOperation;
  curl: string;
  javascript: string;
  python: string;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

type Operation = {
  summary?: string;
  [SAMPLE_MARK]?: unknown;
  parameters?: Array<{ in?: string; name?: string; example?: unknown; schema?: { example?: unknown } }>;
  requestBody?: { content?: Record<string, { example?: unknown }> };
};

/** Fills `{name}` from the path parameters' examples; undefined when one has none. */
function fillPath(path: string, operation: Operation): string | undefined {
  let missing = false;
  const filled = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = operation.parameters?.find((p) => p.in === "path" && p.name === name);
    const example = parameter?.example ?? parameter?.schema?.example;
    if (example === undefined) missing = true;
    return encodeURIComponent(String(example));
  });
  return missing ? undefined : filled;
}

/**
 * The operation samples call: the one the document marks with `x-gateway-sample: true`, else the first GET
 * without path parameters, among the paths under the API prefixes. Undefined when there is none.
 */
export function sampleOperation(
  document: OpenApiDocument | undefined,
  prefixes: string[],
): SampleOperation | undefined {
  const entries = Object.entries(document?.paths ?? {}).filter(([path]) => isUnderPrefix(path, prefixes));
  for (const [path, item] of entries) {
    for (const method of METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation?.[SAMPLE_MARK]) continue;
      const filled = fillPath(path, operation);
      if (!filled) continue;
      const body = Object.values(operation.requestBody?.content ?? {})[0]?.example;
      return { method: method.toUpperCase(), path: filled, summary: operation.summary, body };
    }
  }
  for (const [path, item] of entries) {
    const operation = item.get as Operation | undefined;
    if (operation && !path.includes("{")) return { method: "GET", path, summary: operation.summary };
  }
  return undefined;
}

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * curl, JavaScript (fetch) and Python (requests) calling `operation` at `baseUrl` with `key` in X-API-Key.
 * `key` is a real key (the portal, right after creating one) or a placeholder such as YOUR_API_KEY.
 */
export function codeSamples(baseUrl: string, operation: SampleOperation, key: string): CodeSamples {
  const url = `${baseUrl}${operation.path}`;
  const hasBody = operation.body !== undefined && operation.method !== "GET";
  const json = hasBody ? JSON.stringify(operation.body) : "";
  const curl = [
    `curl${operation.method === "GET" ? "" : ` -X ${operation.method}`} ${shellQuote(url)}`,
    `  -H ${shellQuote(`X-API-Key: ${key}`)}`,
    ...(hasBody ? [`  -H 'Content-Type: application/json'`, `  --data ${shellQuote(json)}`] : []),
  ].join(" \\\n");
  const javascript = [
    `const response = await fetch(${JSON.stringify(url)}, {`,
    `  method: ${JSON.stringify(operation.method)},`,
    `  headers: { "X-API-Key": ${JSON.stringify(key)}${hasBody ? `, "Content-Type": "application/json"` : ""} },`,
    ...(hasBody ? [`  body: JSON.stringify(${json}),`] : []),
    "});",
    "console.log(response.status, await response.json());",
  ].join("\n");
  const python = [
    "import requests",
    "",
    `response = requests.request(`,
    `    ${JSON.stringify(operation.method)},`,
    `    ${JSON.stringify(url)},`,
    `    headers={"X-API-Key": ${JSON.stringify(key)}},`,
    ...(hasBody ? [`    json=${pythonLiteral(operation.body)},`] : []),
    "    timeout=30,",
    ")",
    "print(response.status_code, response.json())",
  ].join("\n");
  return { operation, curl, javascript, python };
}

/** JSON as a Python literal: True/False/None where JSON says true/false/null. */
function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([name, item]) => `${JSON.stringify(name)}: ${pythonLiteral(item)}`).join(", ")}}`;
}

/**
 * Samples for this deployment's API with `key` filled in, from the origin's (cached) document; when it
 * documents no usable operation, a GET of the first API prefix.
 */
export async function samplesFor(
  config: Config,
  log: Logger,
  baseUrl: string,
  key: string,
): Promise<CodeSamples> {
  const operation = sampleOperation(await originDocument(config, log), config.apiPrefixes);
  return codeSamples(baseUrl, operation ?? { method: "GET", path: config.apiPrefixes[0] ?? "/" }, key);
}
