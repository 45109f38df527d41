import { invalid, StripeApiError } from "./errors.ts";

export type Params = Record<string, unknown>;

/**
 * Decodes Stripe's form encoding: `metadata[tier]=pro`, `line_items[0][price]=price_x`, `expand[]=a`.
 * Objects whose keys are all indexes become arrays.
 */
export function decodeStripeForm(body: string): Params {
  const root: Params = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!match?.[1]) throw new StripeApiError(400, `Invalid parameter name: ${key}`);
    const path = [match[1], ...[...(match[2] ?? "").matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? "")];
    if (
      path.some((segment) => segment === "__proto__" || segment === "constructor" || segment === "prototype")
    ) {
      throw new StripeApiError(400, `Invalid parameter name: ${key}`);
    }
    let node: Params = root;
    path.forEach((segment, index) => {
      const name = segment === "" ? String(Object.keys(node).length) : segment;
      if (index === path.length - 1) {
        node[name] = value;
        return;
      }
      const child = node[name];
      if (!isObject(child)) node[name] = {};
      node = node[name] as Params;
    });
  }
  return arrayify(root) as Params;
}

function arrayify(value: unknown): unknown {
  if (!isObject(value)) return value;
  const entries = Object.entries(value).map(([key, item]) => [key, arrayify(item)] as const);
  const isList = entries.length > 0 && entries.every(([key]) => /^\d+$/.test(key));
  if (!isList) return Object.fromEntries(entries);
  return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, item]) => item);
}

export function isObject(value: unknown): value is Params {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(name, `Invalid string: ${name} must be a string.`);
  return value;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (value === "true" || value === true) return true;
  if (value === "false" || value === false) return false;
  throw invalid(name, `Invalid boolean: ${String(value)}`);
}

export function optionalInteger(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number)) throw invalid(name, `Invalid integer: ${String(value)}`);
  return number;
}

export function oneOf<T extends string>(params: Params, name: string, allowed: readonly T[]): T | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(name, `Invalid ${name}: must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

export function metadataOf(params: Params, name = "metadata"): Record<string, string> {
  const metadata = params[name];
  if (metadata === undefined || metadata === "") return {};
  if (!isObject(metadata)) throw invalid(name, `Invalid object: ${name} must be a hash.`);
  if (Object.keys(metadata).length > 50) throw invalid(name, "Metadata can have at most 50 keys.");
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") throw invalid(`${name}[${key}]`, "Metadata values must be strings.");
  }
  return metadata as Record<string, string>;
}

export function checkUrl(params: Params, param: string): void {
  const value = optionalString(params, param);
  if (value === undefined) return;
  // {CHECKOUT_SESSION_ID} is Stripe's placeholder, replaced on redirect.
  if (!URL.canParse(value.replaceAll("{CHECKOUT_SESSION_ID}", "x")) || !/^https?:/.test(value)) {
    throw invalid(param, `Not a valid URL: ${param}`);
  }
}

/** `expand[]` values, e.g. ["data.latest_invoice"]. */
export function expansions(params: Params): string[] {
  const expand = params.expand;
  if (expand === undefined) return [];
  if (!Array.isArray(expand)) throw invalid("expand", "Invalid array: expand must be an array.");
  return expand.map(String);
}
