import { fromOrigin, header, type Observed } from "./observed.ts";
import { secretsIn } from "./secrets.ts";

/**
 * What every answer of the gateway must respect, whatever was sent: checked on every response the suite
 * receives. Returns the broken rules (empty when all hold).
 */
export interface OracleOptions {
  /** This response issued an API key: the key in its body is expected. */
  issuesKey?: boolean;
  /** A 500 problem+json is acceptable here (e.g. the admin API while Postgres is down). */
  allow500?: boolean;
  /** The request target as sent: error bodies echo the path (`instance`), which is no stack trace. */
  target?: string;
  /** HEAD answers carry no body to check. */
  method?: string;
}

// V8 stack frames ("    at fn (file:line:col)"), and file system paths or source locations.
const STACK_SHAPES: RegExp[] = [
  /\n\s+at\s/,
  /\bat\s+\S+\s+\((?:file:|node:|\/)[^)]*\)/,
  /\bat\s+(?:file|node):/,
  /\/(?:work|home|root|usr|tmp|var)\/[\w.-]+\//,
  /[\w-]+\.(?:ts|js|mjs|cjs):\d+/,
  /node_modules/,
];

export function oracle(observed: Observed, options: OracleOptions = {}): string[] {
  const broken: string[] = [];
  const leaked = options.issuesKey ? [] : secretsIn(observed.text);
  if (leaked.length > 0) broken.push(`response body contains ${leaked.join(", ")}`);
  for (const [name, value] of observed.headers) {
    const inHeader = secretsIn(value);
    if (inHeader.length > 0) broken.push(`response header ${name} contains ${inHeader.join(", ")}`);
  }
  if (fromOrigin(observed)) return broken;

  const requestId = header(observed, "x-request-id");
  if (isParserRefusal(observed)) return broken;
  if (observed.status === 500 && !options.allow500) broken.push("the gateway answered 500");
  if (!requestId && observed.status >= 500) {
    broken.push(`${observed.status} without X-Request-Id: the worker itself failed (uncaught)`);
  }
  const body = withoutEchoedTarget(observed.text, options.target);
  const stack = STACK_SHAPES.find((shape) => shape.test(body));
  if (stack) broken.push(`body looks like a stack trace or a file path (${stack}): ${body.slice(0, 200)}`);
  // /health/ready answers its checks as plain JSON, with 503 when degraded: documented, not an error body.
  const isReadiness = options.target?.startsWith("/health/ready") ?? false;
  const hasBody = options.method?.toUpperCase() !== "HEAD";
  if (requestId && observed.status >= 400 && !isReadiness && hasBody) {
    const type = header(observed, "content-type");
    if (type !== "application/problem+json") broken.push(`${observed.status} is ${type}, not problem+json`);
    else {
      try {
        const problem = JSON.parse(observed.text) as Record<string, unknown>;
        if (problem.status !== observed.status || typeof problem.type !== "string" || !problem.requestId) {
          broken.push(`malformed problem body: ${observed.text.slice(0, 200)}`);
        }
      } catch {
        broken.push(`problem+json that is not JSON: ${observed.text.slice(0, 200)}`);
      }
    }
  }
  return broken;
}

/** Error bodies quote the request path (instance, "No route for GET /x"); that echo is not a leak. */
function withoutEchoedTarget(text: string, target: string | undefined): string {
  if (!target) return text;
  const path = target.split("?")[0] ?? target;
  let pathname = path;
  try {
    pathname = new URL(path, "http://gateway.invalid").pathname;
  } catch {
    // unparsable: only the literal echo is removed
  }
  let out = text;
  for (const echo of [target, path, pathname, JSON.stringify(pathname).slice(1, -1)]) {
    if (echo) out = out.split(echo).join("");
  }
  return out;
}

/**
 * workerd's HTTP parser refusing bytes before any worker runs ("ERROR: Unrecognized request method." as a
 * 501, malformed headers as a 400): a correct answer of the runtime, not one of the gateway.
 */
export function isParserRefusal(observed: Observed): boolean {
  return (
    !header(observed, "x-request-id") &&
    [400, 413, 431, 501, 505].includes(observed.status) &&
    (observed.text === "" || observed.text.startsWith("ERROR: "))
  );
}
