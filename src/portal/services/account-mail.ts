import type { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../../config";
import type { Database } from "../../db/client";
import type { Logger } from "../../lib/log";
import type { Mailer } from "../../mail/mail-client";
import type { Brand } from "../../mail/templates";
import type { Services } from "../../services";

/** What the account services need to send a mail with a link back to the portal. */
export interface AccountMailDeps {
  db: Database;
  redis: Redis;
  log: Logger;
  mailer: Mailer;
  brand: Brand;
  /** Origin links point at: PORTAL_URL, else the origin this request came to. */
  portalBase: string;
}

export const brandOf = (config: Pick<Config, "apiName" | "mailSupportAddress">): Brand => ({
  apiName: config.apiName,
  supportAddress: config.mailSupportAddress,
});

/**
 * The account services' dependencies from a request's services (admin or portal).
 * @throws ApiError `mail_not_configured` (503) when mail cannot be sent (RESEND_API_KEY unset).
 */
export function accountMailDeps(services: Services): AccountMailDeps {
  return {
    db: services.db,
    redis: services.redis,
    log: services.log,
    mailer: services.mailer,
    brand: brandOf(services.config),
    portalBase: services.portalBase,
  };
}

/** A portal page link carrying a token, e.g. `${base}/portal/verify?token=...`. */
export const tokenLink = (deps: Pick<AccountMailDeps, "portalBase">, page: string, token: string) =>
  `${deps.portalBase}/portal/${page}?token=${encodeURIComponent(token)}`;

export const portalLink = (deps: Pick<AccountMailDeps, "portalBase">, page: string) =>
  `${deps.portalBase}/portal/${page}`;
