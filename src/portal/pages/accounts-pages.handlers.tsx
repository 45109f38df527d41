import type { Context } from "hono";
import type { z } from "zod";
import { EMAIL_CHANGE_SENT } from "../api/accounts.handlers";
import {
  ChangeEmailSchema,
  ChangePasswordSchema,
  ForgotPasswordSchema,
  ResetPasswordSchema,
} from "../api/accounts.schemas";
import { peekToken } from "../auth/account-tokens";
import { VERIFY_FIRST } from "../auth/require-verified";
import { writeSessionCookie } from "../auth/session-cookie";
import { callerOf, type PortalEnv } from "../portal-env";
import { INVALID_LINK } from "../services/email-verification";
import { RESET_REQUESTED } from "../services/password-reset";
import {
  acceptInvitation,
  changeOwnEmail,
  changeOwnPassword,
  confirmEmailLink,
  requestPasswordReset,
  resendVerification,
  resetPassword,
} from "../services/portal-accounts";
import { currentAccount } from "../services/portal-auth";
import { isRefused, type Refused, refusalStatus } from "../services/refusal";
import { pageContext } from "./page-context";
import {
  ForgotPage,
  type FormState,
  InvitationPage,
  ResetPage,
  SettingsPage,
  VerifyPage,
} from "./views/accounts";

/**
 * Pages of portal accounts: the targets of the links in the mails (verify, reset, invitation), the
 * forgot-password form and the settings page. Plain forms over the services the JSON API uses.
 */
type PageContextT = Context<PortalEnv>;

async function formOf(c: PageContextT): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  return Object.fromEntries(
    Object.entries(body).flatMap(([name, value]) => (typeof value === "string" ? [[name, value]] : [])),
  );
}

function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) errors[String(issue.path[0] ?? "")] ??= issue.message;
  return errors;
}

/** A service's refusal as a form shows it: by its field when it names one (wrong password...), else on top. */
function formErrorOf(refusal: Refused): FormState {
  return refusal.field
    ? { error: undefined, fieldErrors: { [refusal.field]: refusal.detail } }
    : { error: refusal.detail, fieldErrors: {} };
}

/** Notices of the login page after a link did its work (portal-pages.handlers.tsx shows them). */
export const LOGIN_NOTICES: Record<string, string> = {
  verified: "Thank you: your email address is confirmed. Log in to create your keys.",
  "email-changed": "Your new email address is confirmed: log in with it.",
  "password-reset": "Your new password is set and every session was signed out: log in with it.",
};

const tokenOf = (c: PageContextT) => (c.req.query("token") ?? "").slice(0, 128);
const minutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));

// Verify ---------------------------------------------------------------------------------------------------

export async function verifyPage(c: PageContextT) {
  const token = tokenOf(c);
  const valid = Boolean(await peekToken(c.get("services").db, token, ["verify_email", "change_email"]));
  return c.html(
    <VerifyPage page={await pageContext(c)} token={token} valid={valid} detail={INVALID_LINK} />,
    valid ? 200 : 400,
  );
}

export async function verifySubmit(c: PageContextT) {
  const token = ((await formOf(c)).token ?? "").slice(0, 128);
  const confirmed = await confirmEmailLink(callerOf(c), token);
  if (isRefused(confirmed)) {
    const state = formErrorOf(confirmed);
    return c.html(
      <VerifyPage page={await pageContext(c)} token="" valid={false} detail={state.error ?? INVALID_LINK} />,
      refusalStatus(confirmed),
    );
  }
  const notice = confirmed.change ? "email-changed" : "verified";
  return c.redirect(
    c.get("session") ? `/portal/settings?notice=${notice}` : `/portal/login?notice=${notice}`,
    303,
  );
}

// Forgot / reset -------------------------------------------------------------------------------------------

export async function forgotForm(c: PageContextT) {
  return c.html(<ForgotPage page={await pageContext(c)} state={{}} />);
}

export async function forgotSubmit(c: PageContextT) {
  const form = await formOf(c);
  const parsed = ForgotPasswordSchema.safeParse({ email: form.email?.trim() });
  if (!parsed.success) {
    const state = { values: form, fieldErrors: fieldErrors(parsed.error) };
    return c.html(<ForgotPage page={await pageContext(c)} state={state} />, 400);
  }
  const result = await requestPasswordReset(callerOf(c), parsed.data.email);
  if (result.outcome === "limited") {
    c.header("Retry-After", String(result.retryAfterSeconds));
    const error = `Too many requests from your network. Try again in ${minutes(result.retryAfterSeconds)} minutes.`;
    return c.html(<ForgotPage page={await pageContext(c)} state={{ values: form, error }} />, 429);
  }
  return c.html(<ForgotPage page={await pageContext(c)} state={{ notice: RESET_REQUESTED }} />, 202);
}

export async function resetForm(c: PageContextT) {
  const token = tokenOf(c);
  const valid = Boolean(await peekToken(c.get("services").db, token, ["reset_password"]));
  const state = valid ? {} : { error: INVALID_LINK };
  return c.html(
    <ResetPage page={await pageContext(c)} token={token} valid={valid} state={state} />,
    valid ? 200 : 400,
  );
}

export async function resetSubmit(c: PageContextT) {
  const form = await formOf(c);
  const token = (form.token ?? "").slice(0, 128);
  const parsed = ResetPasswordSchema.safeParse({ token, password: form.password });
  if (!parsed.success) {
    const state = { fieldErrors: fieldErrors(parsed.error) };
    return c.html(<ResetPage page={await pageContext(c)} token={token} valid={true} state={state} />, 400);
  }
  const result = await resetPassword(callerOf(c), parsed.data);
  if (isRefused(result)) {
    const state = formErrorOf(result);
    return c.html(<ResetPage page={await pageContext(c)} token={token} valid={false} state={state} />, 400);
  }
  return c.redirect("/portal/login?notice=password-reset", 303);
}

// Invitation -----------------------------------------------------------------------------------------------

export async function invitationForm(c: PageContextT) {
  const token = tokenOf(c);
  const found = await peekToken(c.get("services").db, token, ["invitation"]);
  const state = found ? {} : { error: INVALID_LINK };
  return c.html(
    <InvitationPage
      page={await pageContext(c)}
      token={token}
      valid={Boolean(found)}
      email={found?.email}
      state={state}
    />,
    found ? 200 : 400,
  );
}

export async function invitationSubmit(c: PageContextT) {
  const form = await formOf(c);
  const token = (form.token ?? "").slice(0, 128);
  const parsed = ResetPasswordSchema.safeParse({ token, password: form.password });
  if (!parsed.success) {
    const found = await peekToken(c.get("services").db, token, ["invitation"]);
    const state = { fieldErrors: fieldErrors(parsed.error) };
    return c.html(
      <InvitationPage
        page={await pageContext(c)}
        token={token}
        valid={Boolean(found)}
        email={found?.email}
        state={state}
      />,
      400,
    );
  }
  const signedIn = await acceptInvitation(callerOf(c), parsed.data);
  if (isRefused(signedIn)) {
    const state = formErrorOf(signedIn);
    return c.html(
      <InvitationPage page={await pageContext(c)} token={token} valid={false} state={state} />,
      400,
    );
  }
  writeSessionCookie(c, signedIn.session.id, signedIn.session.ttlSeconds);
  return c.redirect("/portal/keys", 303);
}

// Settings -------------------------------------------------------------------------------------------------

const SETTINGS_NOTICES: Record<string, string> = {
  verified: "Thank you: your email address is confirmed.",
  "email-changed": "Your email address is changed and confirmed.",
  "verification-sent": "We sent a new link; earlier links no longer work.",
  "email-change-sent": EMAIL_CHANGE_SENT,
  "password-changed": "Password changed. Your other sessions are signed out.",
};

async function renderSettings(
  c: PageContextT,
  forms: { emailForm?: FormState; passwordForm?: FormState; error?: string } = {},
  status: 200 | 400 | 409 | 429 = 200,
) {
  const account = await currentAccount(callerOf(c));
  const notice = c.req.query("notice");
  return c.html(
    <SettingsPage
      page={await pageContext(c)}
      email={account.email}
      verified={account.emailVerifiedAt !== null}
      notice={notice === "verify-first" ? undefined : SETTINGS_NOTICES[notice ?? ""]}
      error={forms.error ?? (notice === "verify-first" ? VERIFY_FIRST : undefined)}
      emailForm={forms.emailForm ?? {}}
      passwordForm={forms.passwordForm ?? {}}
    />,
    status,
  );
}

export const settingsPage = (c: PageContextT) => renderSettings(c);

export async function resendSubmit(c: PageContextT) {
  const result = await resendVerification(callerOf(c));
  if (isRefused(result)) return renderSettings(c, { error: formErrorOf(result).error }, 409);
  if (result.outcome === "limited") {
    c.header("Retry-After", String(result.retryAfterSeconds));
    const error = `You asked for several links already. Try again in ${minutes(result.retryAfterSeconds)} minutes.`;
    return renderSettings(c, { error }, 429);
  }
  return c.redirect("/portal/settings?notice=verification-sent", 303);
}

export async function changeEmailSubmit(c: PageContextT) {
  const form = await formOf(c);
  const parsed = ChangeEmailSchema.safeParse({ email: form.email?.trim(), password: form.password });
  if (!parsed.success) {
    return renderSettings(c, { emailForm: { values: form, fieldErrors: fieldErrors(parsed.error) } }, 400);
  }
  const result = await changeOwnEmail(callerOf(c), parsed.data);
  if (isRefused(result)) {
    return renderSettings(c, { emailForm: { values: form, ...formErrorOf(result) } }, 400);
  }
  return c.redirect("/portal/settings?notice=email-change-sent", 303);
}

export async function changePasswordSubmit(c: PageContextT) {
  const form = await formOf(c);
  const parsed = ChangePasswordSchema.safeParse({
    currentPassword: form.currentPassword,
    newPassword: form.newPassword,
  });
  if (!parsed.success) {
    return renderSettings(c, { passwordForm: { fieldErrors: fieldErrors(parsed.error) } }, 400);
  }
  const result = await changeOwnPassword(callerOf(c), parsed.data);
  if (isRefused(result)) return renderSettings(c, { passwordForm: formErrorOf(result) }, 400);
  return c.redirect("/portal/settings?notice=password-changed", 303);
}
