import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../../config";
import type { Database } from "../../db/client";
import type { Logger } from "../../lib/log";
import { publicBaseUrl } from "../../lib/public-origin";
import { type Mailer, mailerFor } from "../../mail/mail-client";
import type { Brand } from "../../mail/templates";
import { redisFor } from "../../store/redis";

/** What the account services need to send a mail with a link back to the portal. */
export interface AccountMailDeps {
  db: Database;
  redis: Redis;
  log: Logger;
  mailer: Mailer;
  brand: Brand;
  /** Base URL links point at: publicBaseUrl() (PORTAL_URL, else locally the request's origin). */
  portalBase: string;
}

export const brandOf = (config: Pick<Config, "apiName" | "mailSupportAddress">): Brand => ({
  apiName: config.apiName,
  supportAddress: config.mailSupportAddress,
});

/**
 * The account services' dependencies for one request (admin or portal), from what every request context holds.
 * @throws ApiError `mail_not_configured` (503) when mail cannot be sent (RESEND_API_KEY unset).
 */
export function accountMailDeps(from: {
  config: Config;
  log: Logger;
  db: Database;
  requestUrl: string;
}): AccountMailDeps {
  return {
    db: from.db,
    redis: redisFor(from.config),
    log: from.log,
    mailer: mailerFor(from.config, from.log),
    brand: brandOf(from.config),
    portalBase: publicBaseUrl(from.config, from.requestUrl),
  };
}

/** accountMailDeps() from a request context (portal or admin: both carry config, log and the lazy db). */
export const mailDepsOf = (c: {
  get(key: "config"): Config;
  get(key: "log"): Logger;
  get(key: "db"): { get(): Database };
  req: { url: string };
}) =>
  accountMailDeps({
    config: c.get("config"),
    log: c.get("log"),
    db: c.get("db").get(),
    requestUrl: c.req.url,
  });

/** A portal page link carrying a token, e.g. `${base}/portal/verify?token=...`. */
export const tokenLink = (deps: Pick<AccountMailDeps, "portalBase">, page: string, token: string) =>
  `${deps.portalBase}/portal/${page}?token=${encodeURIComponent(token)}`;

export const portalLink = (deps: Pick<AccountMailDeps, "portalBase">, page: string) =>
  `${deps.portalBase}/portal/${page}`;
