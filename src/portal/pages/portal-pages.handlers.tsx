import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { z } from "zod";
import { apiKeys } from "../../db/schema/api-keys";
import { samplesFor } from "../../docs/code-samples";
import { referencePage } from "../../docs/reference-page";
import { hashApiKey, ID_SHAPE, parseApiKey } from "../../keys/key-format";
import { ROTATION_OVERLAP_HOURS } from "../../keys/key-service";
import { ApiError } from "../../lib/errors";
import { hasForbiddenCharacters } from "../../lib/text";
import { utcDay } from "../../lib/time";
import { plans } from "../../plans/plans";
import { lastDays } from "../../usage/usage-range";
import { CheckoutSchema, LoginSchema, PASSWORD_LENGTH, SignUpSchema } from "../api/portal-api.schemas";
import { clearSessionCookie, writeSessionCookie } from "../auth/session-cookie";
import { callerOf, type PortalEnv } from "../portal-env";
import {
  attemptLogin,
  attemptSignUp,
  currentAccount,
  endSession,
  INVALID_LOGIN,
  SIGNED_UP,
} from "../services/portal-auth";
import { billingPortalUrl, billingSummary, checkoutUrl } from "../services/portal-billing";
import { portalDeps } from "../services/portal-deps";
import {
  createPortalKey,
  findPortalKey,
  listPortalKeys,
  revokePortalKey,
  rotatePortalKey,
} from "../services/portal-keys";
import { portalUsage } from "../services/portal-usage";
import { isRefused, refusalStatus } from "../services/refusal";
import { LOGIN_NOTICES } from "./accounts-pages.handlers";
import { pageContext } from "./page-context";
import { type AuthFormState, LoginPage, SignUpPage } from "./views/auth";
import { BillingPage } from "./views/billing";
import { DocsKeyPage } from "./views/docs";
import { HomePage } from "./views/home";
import { RevokeKeyPage, RotateKeyPage } from "./views/key-confirm";
import { KeySecretPage } from "./views/key-secret";
import { type CreateKeyFormState, KeysPage } from "./views/keys";
import { UsagePage } from "./views/usage";

/**
 * The portal's pages: plain HTML forms over the same services as the JSON API (src/portal/services), so the
 * browser and scripts go through one implementation. Form input is validated with the API's own schemas.
 */
type PageContextT = Context<PortalEnv>;

async function formOf(c: PageContextT): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  return Object.fromEntries(
    Object.entries(body).flatMap(([name, value]) => (typeof value === "string" ? [[name, value]] : [])),
  );
}

type FieldMessages<T extends string> = Record<T, (issue: z.core.$ZodIssue) => string>;

/**
 * One plain sentence per invalid field, saying what to enter (not the validator's wording, e.g. "Too small:
 * expected string to have >=1 characters"); the first issue of each field wins.
 */
function fieldErrors<T extends string>(
  error: z.ZodError,
  messages: FieldMessages<T>,
): Partial<Record<T, string>> {
  const errors: Partial<Record<T, string>> = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? "") as T;
    if (field in messages) errors[field] ??= messages[field](issue);
  }
  return errors;
}

const SIGN_UP_MESSAGES: FieldMessages<"email" | "password"> = {
  email: () => "Enter your email address, like name@example.com.",
  password: (issue) =>
    issue.code === "too_big"
      ? `Use at most ${PASSWORD_LENGTH.max} characters for your password.`
      : `Choose a password of at least ${PASSWORD_LENGTH.min} characters.`,
};

const LOGIN_MESSAGES: FieldMessages<"email" | "password"> = {
  email: () => "Enter the email address you signed up with, like name@example.com.",
  password: (issue) =>
    issue.code === "too_big"
      ? `Passwords here are at most ${PASSWORD_LENGTH.max} characters.`
      : "Enter your password.",
};

const tooManyText = (seconds: number) =>
  `Too many attempts. Try again in ${Math.max(1, Math.ceil(seconds / 60))} minute${seconds > 60 ? "s" : ""}.`;

const apiPrefix = (c: PageContextT) => c.get("config").apiPrefixes[0] as string;

// Home -----------------------------------------------------------------------------------------------------

export async function homePage(c: PageContextT) {
  return c.html(<HomePage page={await pageContext(c)} plans={plans} apiPrefix={apiPrefix(c)} />);
}

// Sign up, log in, log out ----------------------------------------------------------------------------------

export async function signUpForm(c: PageContextT) {
  if (c.get("session")) return c.redirect("/portal/keys", 303);
  return c.html(<SignUpPage page={await pageContext(c)} state={{}} />);
}

export async function signUpSubmit(c: PageContextT) {
  const form = await formOf(c);
  const parsed = SignUpSchema.safeParse({ email: form.email?.trim(), password: form.password });
  if (!parsed.success) {
    const state: AuthFormState = {
      email: form.email,
      fieldErrors: fieldErrors(parsed.error, SIGN_UP_MESSAGES),
    };
    return c.html(<SignUpPage page={await pageContext(c)} state={state} />, 400);
  }
  const result = await attemptSignUp(callerOf(c), parsed.data);
  if (result.outcome === "limited") {
    c.header("Retry-After", String(result.retryAfterSeconds));
    const state = { email: form.email, error: tooManyText(result.retryAfterSeconds) };
    return c.html(<SignUpPage page={await pageContext(c)} state={state} />, 429);
  }
  return c.redirect("/portal/login?signed_up=1", 303);
}

export async function loginForm(c: PageContextT) {
  if (c.get("session")) return c.redirect("/portal/keys", 303);
  const notice = c.req.query("signed_up") === "1" ? SIGNED_UP : LOGIN_NOTICES[c.req.query("notice") ?? ""];
  return c.html(<LoginPage page={await pageContext(c)} state={{ notice }} />);
}

export async function loginSubmit(c: PageContextT) {
  const form = await formOf(c);
  const parsed = LoginSchema.safeParse({ email: form.email?.trim(), password: form.password });
  if (!parsed.success) {
    const state: AuthFormState = {
      email: form.email,
      fieldErrors: fieldErrors(parsed.error, LOGIN_MESSAGES),
    };
    return c.html(<LoginPage page={await pageContext(c)} state={state} />, 400);
  }
  const result = await attemptLogin(callerOf(c), parsed.data);
  if (result.outcome === "signed_in") {
    writeSessionCookie(c, result.session.id, result.session.ttlSeconds);
    return c.redirect("/portal/keys", 303);
  }
  if (result.outcome === "limited") {
    c.header("Retry-After", String(result.retryAfterSeconds));
    const state = { email: form.email, error: tooManyText(result.retryAfterSeconds) };
    return c.html(<LoginPage page={await pageContext(c)} state={state} />, 429);
  }
  return c.html(
    <LoginPage page={await pageContext(c)} state={{ email: form.email, error: INVALID_LOGIN }} />,
    401,
  );
}

export async function logoutSubmit(c: PageContextT) {
  await endSession(callerOf(c));
  clearSessionCookie(c);
  return c.redirect("/portal", 303);
}

// Keys -----------------------------------------------------------------------------------------------------

const NOTICES: Record<string, string> = {
  revoked: "Key revoked: requests with it are refused from now on.",
};

const today = () => utcDay(Date.now());

async function renderKeys(c: PageContextT, form: CreateKeyFormState, status: 200 | 400 | 409 = 200) {
  const keys = await listPortalKeys(portalDeps(callerOf(c)));
  const notice = NOTICES[c.req.query("notice") ?? ""];
  return c.html(
    <KeysPage page={await pageContext(c)} keys={keys} form={form} notice={notice} today={today()} />,
    status,
  );
}

export const keysPage = (c: PageContextT) => renderKeys(c, {});

/** The end of the chosen day (UTC), or an error message. */
function expiryOf(expiresOn: string | undefined): { at: Date | null } | { error: string } {
  if (!expiresOn) return { at: null };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(expiresOn) || Number.isNaN(Date.parse(expiresOn))) {
    return { error: "Enter a date as YYYY-MM-DD." };
  }
  if (expiresOn < today()) return { error: "Choose today or a later day." };
  return { at: new Date(`${expiresOn}T23:59:59.999Z`) };
}

export async function createKeySubmit(c: PageContextT) {
  const form = await formOf(c);
  const name = (form.name ?? "").trim();
  const expiry = expiryOf(form.expiresOn || undefined);
  const state: CreateKeyFormState = { name: form.name, expiresOn: form.expiresOn, fieldErrors: {} };
  if (name.length === 0 || name.length > 100)
    state.fieldErrors = { name: "Give the key a name (up to 100 characters)." };
  else if (hasForbiddenCharacters(name))
    state.fieldErrors = { name: "Use a name without control characters (such as tabs or line breaks)." };
  if ("error" in expiry) state.fieldErrors = { ...state.fieldErrors, expiresOn: expiry.error };
  if (Object.keys(state.fieldErrors ?? {}).length > 0 || "error" in expiry) return renderKeys(c, state, 400);
  const issued = await createPortalKey(portalDeps(callerOf(c)), { name, expiresAt: expiry.at });
  if (isRefused(issued)) return renderKeys(c, { ...state, error: issued.detail }, refusalStatus(issued));
  const samples = await samplesFor(c.get("config"), c.get("log"), c.get("services").portalBase, issued.key);
  return c.html(
    <KeySecretPage
      page={await pageContext(c)}
      heading="Your new key"
      record={issued.record}
      secret={issued.key}
      samples={samples}
    />,
    201,
  );
}

/** A malformed id from the URL becomes "" (no key has it: a 404 page), never a query parameter. */
const keyIdOf = (c: PageContextT) => {
  const id = c.req.param("id") ?? "";
  return ID_SHAPE.test(id) ? id : "";
};

export async function revokeConfirmPage(c: PageContextT) {
  const item = await findPortalKey(portalDeps(callerOf(c)), keyIdOf(c));
  return c.html(<RevokeKeyPage page={await pageContext(c)} item={item} />);
}

export async function revokeSubmit(c: PageContextT) {
  await revokePortalKey(portalDeps(callerOf(c)), keyIdOf(c));
  return c.redirect("/portal/keys?notice=revoked", 303);
}

export async function rotateConfirmPage(c: PageContextT) {
  const item = await findPortalKey(portalDeps(callerOf(c)), keyIdOf(c));
  return c.html(<RotateKeyPage page={await pageContext(c)} item={item} />);
}

export async function rotateSubmit(c: PageContextT) {
  const form = await formOf(c);
  const overlapHours = Number(form.overlapHours ?? ROTATION_OVERLAP_HOURS.default);
  if (
    !Number.isInteger(overlapHours) ||
    overlapHours < ROTATION_OVERLAP_HOURS.min ||
    overlapHours > ROTATION_OVERLAP_HOURS.max
  ) {
    throw new ApiError("validation_failed", {
      detail: `The overlap is a whole number of hours from ${ROTATION_OVERLAP_HOURS.min} to ${ROTATION_OVERLAP_HOURS.max}.`,
    });
  }
  const rotated = await rotatePortalKey(portalDeps(callerOf(c)), keyIdOf(c), overlapHours);
  const samples = await samplesFor(c.get("config"), c.get("log"), c.get("services").portalBase, rotated.key);
  return c.html(
    <KeySecretPage
      page={await pageContext(c)}
      heading="Your rotated key"
      record={rotated.record}
      secret={rotated.key}
      samples={samples}
      previous={rotated.previous}
    />,
    201,
  );
}

// Usage ----------------------------------------------------------------------------------------------------

export async function usagePage(c: PageContextT) {
  const now = Date.now();
  const keyId = c.req.query("key") || undefined;
  const account = await currentAccount(callerOf(c));
  const usage = await portalUsage(portalDeps(callerOf(c)), account, { range: lastDays(now), keyId, now });
  const selected = keyId ? { id: keyId, name: usage.keys[0]?.name ?? "" } : undefined;
  return c.html(<UsagePage page={await pageContext(c)} usage={usage} selected={selected} />);
}

// Billing --------------------------------------------------------------------------------------------------

const CHECKOUT_NOTICES: Record<string, string> = {
  success: "Thank you! Your new plan applies as soon as Stripe confirms the payment, usually within seconds.",
  cancelled: "Checkout cancelled: nothing was charged and your plan is unchanged.",
};
const CHANGE_NOTICE = (tier: string) =>
  `Your plan is now ${plans[tier as keyof typeof plans]?.name ?? tier}.`;
const SCHEDULED_NOTICE = (tier: string) =>
  `Your plan changes to ${plans[tier as keyof typeof plans]?.name ?? tier} when the current period ends; until then nothing changes.`;

export async function billingPage(c: PageContextT) {
  const billing = billingSummary(await currentAccount(callerOf(c)), c.get("config"));
  const changed = c.req.query("changed");
  const scheduled = c.req.query("scheduled");
  const notice = changed
    ? CHANGE_NOTICE(changed)
    : scheduled
      ? SCHEDULED_NOTICE(scheduled)
      : c.req.query("kept") !== undefined
        ? "The scheduled change is cancelled: you keep your current plan."
        : CHECKOUT_NOTICES[c.req.query("checkout") ?? ""];
  return c.html(<BillingPage page={await pageContext(c)} billing={billing} notice={notice} />);
}

export async function checkoutSubmit(c: PageContextT) {
  const parsed = CheckoutSchema.safeParse({ tier: (await formOf(c)).tier });
  if (!parsed.success) throw new ApiError("validation_failed", { detail: "Choose a plan to upgrade to." });
  return c.redirect(await checkoutUrl(callerOf(c), parsed.data.tier), 303);
}

export async function manageBillingSubmit(c: PageContextT) {
  return c.redirect(await billingPortalUrl(callerOf(c)), 303);
}

// Docs -----------------------------------------------------------------------------------------------------

export async function docsKeyPage(c: PageContextT) {
  return c.html(<DocsKeyPage page={await pageContext(c)} />);
}

/** Whether `key` is a well-formed, active key of this account (looked up by hash, as the edge does). */
async function isOwnActiveKey(c: PageContextT, key: string): Promise<boolean> {
  if (parseApiKey(key) !== c.get("config").keyEnvironment) return false;
  const deps = portalDeps(callerOf(c));
  const [row] = await deps.db
    .select({ status: apiKeys.status, expiresAt: apiKeys.expiresAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, await hashApiKey(key)), eq(apiKeys.accountId, deps.accountId)))
    .limit(1);
  return row?.status === "active" && (row.expiresAt === null || row.expiresAt.getTime() > Date.now());
}

/**
 * The API reference (as at /docs) with the key ready in "Try it". The key is in this response only: a POST
 * answered no-store (portalContext), never the edge-cached /docs; it sits in a JSON data block (escaped, and
 * a key that passed the format check is plain [A-Za-z0-9_] anyway). The page's CSP lets nothing but this
 * origin be reached, so the key cannot be sent anywhere else.
 */
export async function docsWithKey(c: PageContextT) {
  const key = ((await formOf(c)).key ?? "").trim();
  if (!(await isOwnActiveKey(c, key))) {
    return c.html(
      <DocsKeyPage page={await pageContext(c)} error="That is not an active key of your account." />,
      400,
    );
  }
  return c.html(referencePage({ title: "API reference", apiKey: key }));
}

/** Any other /portal path: a 404 page (the JSON API under /portal/api keeps answering problem+json). */
export function pageNotFound(c: PageContextT): never {
  throw new ApiError("not_found", { detail: `No page at ${new URL(c.req.url).pathname}.` });
}
