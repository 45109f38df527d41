import type { FC } from "hono/jsx";
import { PASSWORD_LENGTH } from "../../api/portal-api.schemas";
import { CsrfField, FormError, Layout, Notice, type PageContext } from "../layout";

export interface AuthFormState {
  email?: string;
  /** Field -> message, from validation. */
  fieldErrors?: Partial<Record<"email" | "password", string>>;
  /** One message for the whole form (wrong credentials, too many attempts). */
  error?: string;
  notice?: string;
}

const Field: FC<{
  id: "email" | "password";
  label: string;
  type: string;
  autocomplete: string;
  value?: string;
  minlength?: number;
  hint?: string;
  error?: string;
  /** The first field with an error takes the focus, so the page opens where the fix is needed. */
  autofocus?: boolean;
}> = (props) => {
  const described = [props.hint ? `${props.id}-hint` : "", props.error ? `${props.id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div>
      <label for={props.id}>
        {props.label}
        {props.hint ? (
          <span class="hint" id={`${props.id}-hint`}>
            {props.hint}
          </span>
        ) : null}
      </label>
      <input
        id={props.id}
        name={props.id}
        type={props.type}
        autocomplete={props.autocomplete}
        value={props.value}
        minlength={props.minlength}
        maxlength={props.id === "email" ? 254 : PASSWORD_LENGTH.max}
        required
        autofocus={props.autofocus}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
};

export const SignUpPage: FC<{ page: PageContext; state: AuthFormState }> = ({ page, state }) => (
  <Layout page={page} title="Sign up" current="signup">
    <h1>Create your account</h1>
    <p class="muted">
      Free plan, no card needed. Already registered? <a href="/portal/login">Log in</a>.
    </p>
    <FormError text={state.error} />
    <form class="stack" method="post" action="/portal/signup" novalidate>
      <CsrfField token={page.csrfToken} />
      <Field
        id="email"
        label="Email"
        type="email"
        autocomplete="email"
        value={state.email}
        error={state.fieldErrors?.email}
        autofocus={!!state.fieldErrors?.email}
      />
      <Field
        id="password"
        label="Password"
        type="password"
        autocomplete="new-password"
        minlength={PASSWORD_LENGTH.min}
        hint={`At least ${PASSWORD_LENGTH.min} characters. A passphrase of a few words is easy to remember.`}
        error={state.fieldErrors?.password}
        autofocus={!state.fieldErrors?.email && !!state.fieldErrors?.password}
      />
      <div>
        <button type="submit">Create account</button>
      </div>
    </form>
  </Layout>
);

export const LoginPage: FC<{ page: PageContext; state: AuthFormState }> = ({ page, state }) => (
  <Layout page={page} title="Log in" current="login">
    <h1>Log in</h1>
    <Notice text={state.notice} />
    <FormError text={state.error} />
    <form class="stack" method="post" action="/portal/login" novalidate>
      <CsrfField token={page.csrfToken} />
      <Field
        id="email"
        label="Email"
        type="email"
        autocomplete="username"
        value={state.email}
        error={state.fieldErrors?.email}
        autofocus={!!state.fieldErrors?.email}
      />
      <Field
        id="password"
        label="Password"
        type="password"
        autocomplete="current-password"
        error={state.fieldErrors?.password}
        autofocus={!state.fieldErrors?.email && !!state.fieldErrors?.password}
      />
      <div>
        <button type="submit">Log in</button>
      </div>
    </form>
    <p class="muted">
      New here? <a href="/portal/signup">Create an account</a>. Forgot your password?{" "}
      <a href="/portal/forgot">Reset it</a>.
    </p>
  </Layout>
);
