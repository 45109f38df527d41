import type { Context } from "hono";
import type { Config } from "../../config";
import { getAccount } from "../../keys/account-service";
import { csrfTokenFor } from "../auth/csrf-token";
import type { PortalEnv } from "../portal-env";
import type { Brand, PageContext } from "./layout";

/** The owner's branding from the config (PORTAL_NAME, PORTAL_LOGO_URL, PORTAL_ACCENT_COLOR, SUPPORT_EMAIL). */
const brandOf = (config: Config): Brand => ({
  name: config.portalName,
  logoUrl: config.portalLogoUrl,
  accentColor: config.portalAccentColor,
  supportEmail: config.supportEmail,
});

/** The CSP nonce of this response, the visitor's CSRF token, and who is signed in (for the header). */
export async function pageContext(c: Context<PortalEnv>): Promise<PageContext> {
  const nonce = c.get("secureHeadersNonce");
  if (!nonce) throw new Error("portal pages run behind pageSecurity(), which makes the nonce");
  const secret = c.get("csrfSecret");
  const session = c.get("session");
  const account = session
    ? await getAccount({ db: c.get("services").db }, session.accountId).catch(() => undefined)
    : undefined;
  return {
    nonce,
    // A POST from a visitor without a presession cookie re-renders with no token; the next GET sets one.
    csrfToken: secret ? await csrfTokenFor(secret) : "",
    user: account ? { email: account.email } : undefined,
    brand: brandOf(c.get("config")),
  };
}
