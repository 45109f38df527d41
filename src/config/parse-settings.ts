import type { z } from "zod";
import { editDistance } from "./edit-distance.ts";
import {
  deprecatedAliases,
  localToolNames,
  type SettingName,
  settingNames,
  settingsSchema,
} from "./settings.ts";

type Settings = z.output<typeof settingsSchema>;

/** `ORIGIN_URL` -> `originUrl`: the config field of a binding name, by rule rather than by a second list. */
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>;

const camelCase = (name: string) =>
  name.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/**
 * The parsed settings under camelCase field names (`PORTAL_URL` -> `portalUrl`), plus the branding fields
 * that API_NAME and SUPPORT_EMAIL fill with their page and mail defaults.
 */
export type Config = { [Name in SettingName as CamelCase<Name>]: Settings[Name] } & {
  /** API_NAME, or "the API": how mails name the API. */
  apiName: string;
  /** API_NAME, or "Developer portal": every portal page's header and title. */
  portalName: string;
  /** SUPPORT_EMAIL, or support@example.com: every mail's Reply-To. */
  mailSupportAddress: string;
};

/** Thrown when the worker's configuration is unusable; rendered as a 500 naming the settings, never their values. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid configuration: ${issues.join("; ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** The parsed config, and the deprecated names it was given (to warn about once). */
interface ParsedSettings {
  config: Config;
  deprecations: string[];
}

const known = new Set<string>([...settingNames, ...Object.keys(deprecatedAliases), ...localToolNames]);

/**
 * The known setting a name is probably a misspelling of: the same name in another case, or one at most two
 * edits away (one for short names), counting a swap of neighbours as one edit. Undefined for anything else:
 * an unrelated binding is not ours to refuse.
 */
export function misspeltSetting(name: string): string | undefined {
  if (known.has(name)) return undefined;
  const upper = name.toUpperCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of settingNames) {
    const distance = editDistance(upper, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best) return undefined;
  const allowed = best.name.length <= 6 ? 1 : 2;
  return best.distance <= allowed ? best.name : undefined;
}

/** Blank strings are unset; non-strings (the ASSETS Fetcher, service bindings) are not settings at all. */
function stringEntries(env: Record<string, unknown>): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === "string" && value !== "") entries.set(name, value);
  }
  return entries;
}

/**
 * Every problem with a set of bindings, as sentences naming the setting and its rule, never its value.
 * `missingIsFine` names settings whose absence is not a problem here (secrets, when checking wrangler.toml).
 */
function collect(
  env: Record<string, unknown>,
  missingIsFine: (name: SettingName) => boolean,
): { issues: string[]; deprecations: string[]; data?: Settings } {
  const values = stringEntries(env);
  const issues: string[] = [];
  const deprecations: string[] = [];
  for (const name of values.keys()) {
    const suggestion = misspeltSetting(name);
    if (suggestion) issues.push(`Unknown setting ${name}; did you mean ${suggestion}?`);
  }
  for (const [alias, current] of Object.entries(deprecatedAliases)) {
    const value = values.get(alias);
    if (value === undefined) continue;
    if (values.has(current)) {
      deprecations.push(`${alias} is deprecated and ignored: ${current} is set`);
    } else {
      deprecations.push(`${alias} is deprecated: rename it ${current}`);
      values.set(current, value);
    }
  }
  const input = Object.fromEntries(settingNames.map((name) => [name, values.get(name)]));
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0]) as SettingName;
      if (values.get(name) === undefined && missingIsFine(name)) continue;
      issues.push(`${name} ${issue.message}`);
    }
  }
  // Links in mails and Checkout's return URLs must not follow a client's Host header (see public-origin.ts).
  if (values.get("KEY_ENVIRONMENT") === "live" && !values.get("PORTAL_URL")) {
    issues.push(
      "PORTAL_URL is required when KEY_ENVIRONMENT is live: the gateway's links must not be built from a request's Host header",
    );
  }
  return { issues, deprecations, data: result.success ? result.data : undefined };
}

/**
 * Parses the worker's bindings into its typed config.
 * @throws ConfigError listing every misspelt, missing or invalid setting (e.g. "Unknown setting PORTAL_ULR;
 *   did you mean PORTAL_URL?", "RATE_LIMIT_FAIL_MODE must be one of open, closed").
 */
export function parseSettings(env: Record<string, unknown>): ParsedSettings {
  const { issues, deprecations, data } = collect(env, () => false);
  if (issues.length > 0 || !data) throw new ConfigError(issues);
  const fields = Object.fromEntries(Object.entries(data).map(([name, value]) => [camelCase(name), value]));
  const config = {
    ...fields,
    apiName: data.API_NAME ?? "the API",
    portalName: data.API_NAME ?? "Developer portal",
    mailSupportAddress: data.SUPPORT_EMAIL ?? "support@example.com",
  } as Config;
  return { config, deprecations };
}

/**
 * What is wrong with the settings a deployment's wrangler.toml section (or wrangler.toml and .dev.vars)
 * gives, before anything runs: `problems` (misspelt names, invalid values) refuse; `warnings` (deprecated
 * names) do not. Missing settings are not reported: secrets are set elsewhere (`wrangler secret put`),
 * `npm run dev` supplies its stack's URLs itself, and the deploy check names the vars a deployment needs.
 */
export function settingsProblems(vars: Record<string, unknown>): { problems: string[]; warnings: string[] } {
  const { issues, deprecations } = collect(vars, () => true);
  return { problems: issues, warnings: deprecations };
}
