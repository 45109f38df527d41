import { type Config, parseSettings } from "./config/parse-settings.ts";
import type { deprecatedAliases, SettingName } from "./config/settings.ts";
import { createLogger } from "./lib/log";

export type { Config } from "./config/parse-settings.ts";
export { ConfigError } from "./config/parse-settings.ts";

/**
 * What the worker is given: every setting of src/config/settings.ts by its binding name ([vars] from
 * wrangler.toml, secrets from `wrangler secret put` or .dev.vars), the deprecated names that still work, and
 * the non-string bindings.
 */
export type Bindings = { [Name in SettingName | keyof typeof deprecatedAliases]?: string } & {
  /** API reference (src/docs): the pinned @scalar/api-reference bundle, as Workers static assets ([assets]). */
  ASSETS?: Fetcher;
};

/**
 * Parses the bindings into a typed config.
 * @throws ConfigError naming every misspelt, missing or invalid setting, never a value.
 */
export function parseConfig(env: Bindings): Config {
  return parseSettings(env).config;
}

const parsed = new WeakMap<Bindings, Config>();
const warned = new Set<string>();

/**
 * Parses once per isolate and env object (the bindings do not change while an isolate lives), and logs each
 * deprecated setting name once per isolate.
 * @throws ConfigError, as parseConfig; the error handler renders it as a 500 "misconfigured" problem.
 */
export function configFor(env: Bindings): Config {
  let config = parsed.get(env);
  if (!config) {
    const result = parseSettings(env);
    config = result.config;
    parsed.set(env, config);
    for (const deprecation of result.deprecations) {
      if (warned.has(deprecation)) continue;
      warned.add(deprecation);
      createLogger(config.logLevel, {}).warn("deprecated setting", { detail: deprecation });
    }
  }
  return config;
}
