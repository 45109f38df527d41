import type { FC } from "hono/jsx";
import { PASSWORD_LENGTH } from "../../api/portal-api.schemas";
import { CsrfField, FormError, Layout, Notice, type PageContext } from "../layout";

/** Pages of portal accounts: confirm an address, forgot/reset password, accept an invitation, settings. */
export interface FormState {
  values?: Record<string, string | undefined>;
  fieldErrors?: Record<string, string | undefined>;
  error?: string;
  notice?: string;
}

const Input: FC<{
  id: string;
  label: string;
  type: "email" | "password";
  autocomplete: string;
  state: FormState;
  hint?: string;
}> = ({ id, label, type, autocomplete, state, hint }) => {
  const error = state.fieldErrors?.[id];
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div>
      <label for={id}>
        {label}
        {hint ? (
          <span class="hint" id={`${id}-hint`}>
            {hint}
          </span>
        ) : null}
      </label>
      <input
        id={id}
        name={id}
        type={type}
        autocomplete={autocomplete}
        value={type === "email" ? state.values?.[id] : undefined}
        minlength={autocomplete === "new-password" ? PASSWORD_LENGTH.min : undefined}
        maxlength={type === "email" ? 254 : PASSWORD_LENGTH.max}
        required
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
};

const NEW_PASSWORD_HINT = `At least ${PASSWORD_LENGTH.min} characters. A passphrase of a few words is easy to remember.`;

const InvalidLink: FC<{
  page: PageContext;
  title: string;
  detail: string;
  again: { href: string; label: string };
}> = (props) => (
  <Layout page={props.page} title={props.title} current="login">
    <h1>{props.title}</h1>
    <FormError text={props.detail} />
    <p>
      <a href={props.again.href}>{props.again.label}</a>
    </p>
  </Layout>
);

/** The link's page asks for a click: mail scanners that open links must not use the single-use token up. */
export const VerifyPage: FC<{ page: PageContext; token: string; valid: boolean; detail: string }> = (
  props,
) =>
  props.valid ? (
    <Layout page={props.page} title="Confirm your email" current="login">
      <h1>Confirm your email address</h1>
      <p>One click and your address is confirmed: you can then create API keys and choose a plan.</p>
      <form class="stack" method="post" action="/portal/verify">
        <CsrfField token={props.page.csrfToken} />
        <input type="hidden" name="token" value={props.token} />
        <div>
          <button type="submit">Confirm my email</button>
        </div>
      </form>
    </Layout>
  ) : (
    <InvalidLink
      page={props.page}
      title="This link does not work"
      detail={props.detail}
      again={
        props.page.user
          ? { href: "/portal/settings", label: "Send a new link from your settings" }
          : { href: "/portal/login", label: "Log in to send a new link" }
      }
    />
  );

export const ForgotPage: FC<{ page: PageContext; state: FormState }> = ({ page, state }) => (
  <Layout page={page} title="Forgot your password" current="login">
    <h1>Forgot your password?</h1>
    <Notice text={state.notice} />
    <FormError text={state.error} />
    {state.notice ? (
      <p>
        <a href="/portal/login">Back to log in</a>
      </p>
    ) : (
      <>
        <p class="muted">
          Enter your account's email address and we will send you a link to choose a new password.
        </p>
        <form class="stack" method="post" action="/portal/forgot" novalidate>
          <CsrfField token={page.csrfToken} />
          <Input id="email" label="Email" type="email" autocomplete="username" state={state} />
          <div>
            <button type="submit">Send me a link</button>
          </div>
        </form>
      </>
    )}
  </Layout>
);

const SetPasswordForm: FC<{
  page: PageContext;
  action: string;
  token: string;
  state: FormState;
  button: string;
}> = (props) => (
  <form class="stack" method="post" action={props.action} novalidate>
    <CsrfField token={props.page.csrfToken} />
    <input type="hidden" name="token" value={props.token} />
    <Input
      id="password"
      label="New password"
      type="password"
      autocomplete="new-password"
      state={props.state}
      hint={NEW_PASSWORD_HINT}
    />
    <div>
      <button type="submit">{props.button}</button>
    </div>
  </form>
);

export const ResetPage: FC<{ page: PageContext; token: string; valid: boolean; state: FormState }> = (
  props,
) =>
  props.valid ? (
    <Layout page={props.page} title="Choose a new password" current="login">
      <h1>Choose a new password</h1>
      <FormError text={props.state.error} />
      <p class="muted">Every session of your account is signed out when the new password is set.</p>
      <SetPasswordForm
        page={props.page}
        action="/portal/reset"
        token={props.token}
        state={props.state}
        button="Set new password"
      />
    </Layout>
  ) : (
    <InvalidLink
      page={props.page}
      title="This link does not work"
      detail={props.state.error ?? ""}
      again={{ href: "/portal/forgot", label: "Ask for a new link" }}
    />
  );

export const InvitationPage: FC<{
  page: PageContext;
  token: string;
  valid: boolean;
  email?: string;
  state: FormState;
}> = (props) =>
  props.valid ? (
    <Layout page={props.page} title="Accept your invitation" current="login">
      <h1>Welcome!</h1>
      <FormError text={props.state.error} />
      <p>
        Choose a password for <strong>{props.email}</strong> to log in to the developer portal.
      </p>
      <SetPasswordForm
        page={props.page}
        action="/portal/invitation"
        token={props.token}
        state={props.state}
        button="Set password and log in"
      />
    </Layout>
  ) : (
    <InvalidLink
      page={props.page}
      title="This invitation does not work"
      detail={props.state.error ?? ""}
      again={{ href: "/portal/forgot", label: "Get a link to set your password instead" }}
    />
  );

export const SettingsPage: FC<{
  page: PageContext;
  email: string;
  verified: boolean;
  notice?: string;
  error?: string;
  emailForm: FormState;
  passwordForm: FormState;
}> = (props) => (
  <Layout page={props.page} title="Settings" current="settings">
    <h1>Account settings</h1>
    <Notice text={props.notice} />
    <FormError text={props.error} />
    <section aria-labelledby="address">
      <h2 id="address">Email address</h2>
      <p>
        <strong>{props.email}</strong>{" "}
        {props.verified ? (
          <span class="badge">verified</span>
        ) : (
          <span class="badge warn">not verified yet</span>
        )}
      </p>
      {props.verified ? null : (
        <form class="stack" method="post" action="/portal/settings/verification">
          <p class="muted">
            Open the link we mailed you to confirm this address; until then you can read the docs but not
            create keys or choose a plan.
          </p>
          <CsrfField token={props.page.csrfToken} />
          <div>
            <button type="submit">Send a new link</button>
          </div>
        </form>
      )}
      <h3>Change your email address</h3>
      <FormError text={props.emailForm.error} />
      <form class="stack" method="post" action="/portal/settings/email" novalidate>
        <CsrfField token={props.page.csrfToken} />
        <Input id="email" label="New email" type="email" autocomplete="email" state={props.emailForm} />
        <Input
          id="password"
          label="Current password"
          type="password"
          autocomplete="current-password"
          state={props.emailForm}
        />
        <div>
          <button type="submit">Send a confirmation link</button>
        </div>
      </form>
    </section>
    <section aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <FormError text={props.passwordForm.error} />
      <form class="stack" method="post" action="/portal/settings/password" novalidate>
        <CsrfField token={props.page.csrfToken} />
        <Input
          id="currentPassword"
          label="Current password"
          type="password"
          autocomplete="current-password"
          state={props.passwordForm}
        />
        <Input
          id="newPassword"
          label="New password"
          type="password"
          autocomplete="new-password"
          state={props.passwordForm}
          hint={NEW_PASSWORD_HINT}
        />
        <div>
          <button type="submit">Change password</button>
        </div>
        <p class="muted">Your other sessions are signed out when the password changes.</p>
      </form>
    </section>
  </Layout>
);
