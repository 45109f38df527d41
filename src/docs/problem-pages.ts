import { html } from "hono/html";
import { ApiError, type ProblemCode, problemTypes } from "../lib/errors";
import { problemSlug } from "../lib/openapi";

/**
 * What each problem type means and what to do about it: the documentation RFC 9457 (section 3.1.1) says a
 * problem's `type` URI should lead to. Served at /problems/{slug} as HTML, or JSON for Accept: application/json.
 */
const problemHelp: Record<ProblemCode, string> = {
  bad_request:
    "The request could not be read (for example, a body that is not the JSON it claims to be). Fix the request and send it again.",
  validation_failed:
    "One or more fields are missing or invalid. The `errors` member lists each field (`path`) and what is wrong with it (`message`).",
  key_in_query:
    "API keys in the URL end up in logs and browser history, so they are refused. Send the key in the X-API-Key header, or as Authorization: Bearer <key>.",
  invalid_webhook:
    "A Stripe webhook whose signature, timestamp or body did not check out. Stripe retries it; check STRIPE_WEBHOOK_SECRET if this persists.",
  unauthorized:
    "No credentials were sent, or they were wrong. For the API send your key in X-API-Key; the WWW-Authenticate header names the scheme expected.",
  invalid_key:
    "The API key is malformed, unknown, revoked or expired. Create or rotate a key in the developer portal.",
  forbidden:
    "The credentials are valid but do not allow this request (for example, a form from another site, or a missing CSRF token).",
  not_found: "There is nothing at this path, or the resource belongs to another account.",
  method_not_allowed:
    "This path does not accept that HTTP method. The Allow header lists the methods it does accept.",
  unsupported_media_type:
    "The request body's Content-Type is not one this route reads (RFC 9110 section 15.5.16). Send application/json, or the form type the route documents.",
  invalid_token:
    "The link is unknown, already used or expired. Ask for a new one (a new verification mail, password reset or invitation).",
  email_unverified:
    "Confirm your email address first: open the link we mailed you, or ask for a new one on the settings page.",
  mail_not_configured:
    "This gateway cannot send email yet (its owner has not set RESEND_API_KEY), so routes that must send mail are off.",
  mail_provider_error: "The email provider refused or failed to send the mail. Retry later.",
  conflict:
    "The request conflicts with the resource's current state (for example, an email that is taken or a key that is already being rotated).",
  payload_too_large: "The request body is larger than this API accepts.",
  rate_limited:
    "The key sent more requests than its plan allows in the current window. Wait the number of seconds in Retry-After; the RateLimit and RateLimit-Policy headers show the limits and what is left.",
  quota_exceeded:
    "The key's account has used this month's quota. Requests are accepted again when the month turns (see Retry-After), or at once after an upgrade.",
  internal: "Something failed on our side. Retry later, and quote the requestId if you contact support.",
  misconfigured:
    "The gateway's configuration is incomplete or invalid; its owner has to fix it. Quote the requestId if you contact support.",
  origin_unreachable: "The gateway could not reach the API behind it. Retry later.",
  payment_provider_error:
    "Stripe refused or failed the request. Retry later; nothing was charged by a failed request.",
  unavailable: "A service the gateway depends on is unavailable. Retry after the seconds in Retry-After.",
  billing_not_configured:
    "Billing is switched off on this deployment (a Stripe setting is missing). Everything else works.",
  origin_timeout:
    "The API behind the gateway did not answer in time. Retry later, perhaps with a smaller request.",
};

const codeOf = (slug: string): ProblemCode | undefined =>
  (Object.keys(problemTypes) as ProblemCode[]).find((code) => problemSlug(code) === slug);

/** The documentation of one problem type, or throws not_found for an unknown slug. */
export function problemDocumentation(slug: string) {
  const code = codeOf(slug);
  if (!code) throw new ApiError("not_found", { detail: "No problem type has this name; see /problems." });
  return {
    type: `/problems/${slug}`,
    title: problemTypes[code].title,
    status: problemTypes[code].status,
    description: problemHelp[code],
  };
}

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1f2937}code{background:#f3f4f6;padding:0 .25rem;border-radius:.25rem}a{color:#1d4ed8}dt{font-weight:600;margin-top:1rem}";

/** The HTML page of one problem type. */
export function problemPage(slug: string) {
  const problem = problemDocumentation(slug);
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${problem.title} (${problem.status})</title>
    <style>${STYLE}</style>
  </head>
  <body>
    <main>
      <p><a href="/problems">All problem types</a></p>
      <h1>${problem.title}</h1>
      <p>HTTP status <strong>${problem.status}</strong> · type <code>${problem.type}</code></p>
      <p>${problem.description}</p>
      <p>Every error is an RFC 9457 <code>application/problem+json</code> body with a <code>requestId</code>; quote it when you ask for support.</p>
    </main>
  </body>
</html>`;
}

/** The index of every problem type, as HTML. */
export function problemIndexPage() {
  const items = (Object.keys(problemTypes) as ProblemCode[]).map(
    (code) =>
      html`<dt><a href="/problems/${problemSlug(code)}">${problemTypes[code].title}</a> (${problemTypes[code].status})</dt><dd>${problemHelp[code]}</dd>`,
  );
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Problem types</title>
    <style>${STYLE}</style>
  </head>
  <body>
    <main>
      <h1>Problem types</h1>
      <p>The <code>type</code> of every error this API answers with (RFC 9457).</p>
      <dl>${items}</dl>
    </main>
  </body>
</html>`;
}

/** Every problem type as JSON. */
export const problemIndex = () =>
  (Object.keys(problemTypes) as ProblemCode[]).map((code) => problemDocumentation(problemSlug(code)));
