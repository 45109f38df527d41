import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";
import { PORTAL_CSS } from "./styles";

/** The owner's branding (wrangler.toml [vars]: PORTAL_NAME, PORTAL_LOGO_URL, PORTAL_ACCENT_COLOR, SUPPORT_EMAIL). */
export interface Brand {
  name: string;
  logoUrl?: string;
  /** #rrggbb, already validated by the config. */
  accentColor?: string;
  supportEmail?: string;
}

const DEFAULT_BRAND: Brand = { name: "Developer portal" };

/** What every page needs from its request: the CSP nonce, who is signed in, their CSRF token, the branding. */
export interface PageContext {
  nonce: string;
  csrfToken: string;
  user?: { email: string };
  brand?: Brand;
}

/** The accent colour over the stylesheet's default (links, buttons, the current page). */
const brandCss = (brand: Brand) =>
  brand.accentColor ? `:root{--brand:${brand.accentColor};--brand-dark:${brand.accentColor}}` : "";

type Section = "home" | "keys" | "usage" | "billing" | "docs" | "login" | "signup" | "settings";

/** The few lines of script the portal has: copy buttons. Everything else works without JavaScript. */
const COPY_SCRIPT = `
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select and copy";
  }
  setTimeout(() => { button.textContent = button.dataset.label; }, 2000);
});`;

export const CsrfField: FC<{ token: string }> = ({ token }) => (
  <input type="hidden" name="_csrf" value={token} />
);

const NavLink: FC<{ href: string; id: Section; current: Section; children: Child }> = (props) => (
  <li>
    <a href={props.href} aria-current={props.id === props.current ? "page" : undefined}>
      {props.children}
    </a>
  </li>
);

export const Layout: FC<{
  page: PageContext;
  title: string;
  current: Section;
  withScript?: boolean;
  children: Child;
}> = ({ page, title, current, withScript, children }) => {
  const brand = page.brand ?? DEFAULT_BRAND;
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="same-origin" />
          <title>{`${title} · ${brand.name}`}</title>
          <style nonce={page.nonce}>{raw(PORTAL_CSS + brandCss(brand))}</style>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="site">
            <div class="bar">
              <a class="brand" href="/portal">
                {brand.logoUrl ? <img class="logo" src={brand.logoUrl} alt="" height={28} /> : null}
                {brand.name}
              </a>
              <nav aria-label="Portal">
                <ul>
                  {page.user ? (
                    <>
                      <NavLink href="/portal/keys" id="keys" current={current}>
                        Keys
                      </NavLink>
                      <NavLink href="/portal/usage" id="usage" current={current}>
                        Usage
                      </NavLink>
                      <NavLink href="/portal/billing" id="billing" current={current}>
                        Billing
                      </NavLink>
                      <NavLink href="/portal/docs" id="docs" current={current}>
                        Docs
                      </NavLink>
                    </>
                  ) : (
                    <>
                      <NavLink href="/portal" id="home" current={current}>
                        Home
                      </NavLink>
                      <li>
                        <a href="/docs">Docs</a>
                      </li>
                      <NavLink href="/portal/login" id="login" current={current}>
                        Log in
                      </NavLink>
                      <NavLink href="/portal/signup" id="signup" current={current}>
                        Sign up
                      </NavLink>
                    </>
                  )}
                </ul>
              </nav>
              {page.user ? (
                <div class="who">
                  <a href="/portal/settings" title="Account settings">
                    {page.user.email}
                  </a>
                  <form class="inline" method="post" action="/portal/logout">
                    <CsrfField token={page.csrfToken} />
                    <button type="submit" class="link">
                      Log out
                    </button>
                  </form>
                </div>
              ) : null}
            </div>
          </header>
          <main id="main" tabindex={-1}>
            {children}
          </main>
          <footer class="site">
            <div class="bar">
              <span>
                API reference: <a href="/docs">/docs</a> · Portal API:{" "}
                <a href="/portal/api/openapi.json">/portal/api/openapi.json</a>
                {brand.supportEmail ? (
                  <>
                    {" "}
                    · Support: <a href={`mailto:${brand.supportEmail}`}>{brand.supportEmail}</a>
                  </>
                ) : null}
              </span>
            </div>
          </footer>
          {withScript ? <script nonce={page.nonce}>{raw(COPY_SCRIPT)}</script> : null}
        </body>
      </html>
    </>
  );
};

/** A green confirmation (role=status: announced without stealing focus). */
export const Notice: FC<{ text?: string }> = ({ text }) =>
  text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;

/** A form-level error, announced at once. */
export const FormError: FC<{ text?: string }> = ({ text }) =>
  text ? (
    <p class="error" role="alert">
      {text}
    </p>
  ) : null;

const utc = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** A timestamp as people read it, in UTC (the edge has no idea of the reader's zone). */
export const When: FC<{ iso: string | null; empty?: string }> = ({ iso, empty }) =>
  iso ? (
    <time datetime={iso}>{`${utc.format(new Date(iso))} UTC`}</time>
  ) : (
    <span class="muted">{empty ?? "—"}</span>
  );

export const formatNumber = (value: number) => new Intl.NumberFormat("en-US").format(value);

/** "1 request", "2 requests", "1,000 requests". */
export const count = (value: number, noun: string) =>
  `${formatNumber(value)} ${noun}${value === 1 ? "" : "s"}`;
