import type { FC } from "hono/jsx";
import type { PortalKey } from "../../services/portal-keys";
import { CsrfField, FormError, Layout, Notice, type PageContext, When } from "../layout";

export interface CreateKeyFormState {
  name?: string;
  expiresOn?: string;
  fieldErrors?: Partial<Record<"name" | "expiresOn", string>>;
  error?: string;
}

/** What the status column says: a key in its rotation overlap is "rotating" until its expiry. */
function statusOf(key: PortalKey): { label: string; className: string } {
  if (key.status === "active" && key.rotatedToId) return { label: "rotating", className: "status-rotating" };
  return { label: key.status, className: `status-${key.status}` };
}

const KeyRow: FC<{ item: PortalKey }> = ({ item }) => {
  const status = statusOf(item);
  const usable = item.status === "active";
  return (
    <tr>
      <th scope="row">{item.name || <span class="muted">(no name)</span>}</th>
      <td data-label="Starts with">
        <code>{item.start}…</code>
      </td>
      <td data-label="Created">
        <When iso={item.createdAt} />
      </td>
      <td data-label="Last used">
        <When iso={item.lastUsedAt} empty="never" />
      </td>
      <td data-label="Expires">
        <When iso={item.expiresAt} empty="never" />
      </td>
      <td data-label="Status">
        <span class={`status ${status.className}`}>{status.label}</span>
      </td>
      <td data-label="Actions">
        <div class="actions">
          <a href={`/portal/usage?key=${encodeURIComponent(item.id)}`}>
            Usage<span class="sr-only"> of {item.name}</span>
          </a>
          {usable && !item.rotatedToId ? (
            <a href={`/portal/keys/${encodeURIComponent(item.id)}/rotate`}>Rotate</a>
          ) : null}
          {item.status !== "revoked" ? (
            <a href={`/portal/keys/${encodeURIComponent(item.id)}/revoke`}>Revoke</a>
          ) : null}
        </div>
      </td>
    </tr>
  );
};

export const KeysPage: FC<{
  page: PageContext;
  keys: PortalKey[];
  form: CreateKeyFormState;
  notice?: string;
  today: string;
}> = ({ page, keys, form, notice, today }) => (
  <Layout page={page} title="API keys" current="keys">
    <h1>API keys</h1>
    <Notice text={notice} />
    <section aria-labelledby="create-title">
      <h2 id="create-title">Create a key</h2>
      <FormError text={form.error} />
      <form method="post" action="/portal/keys" novalidate>
        <CsrfField token={page.csrfToken} />
        <div class="fields">
          <div>
            <label for="name">
              Name <span class="hint">Where you will use it, e.g. "laptop" or "production"</span>
            </label>
            <input
              id="name"
              name="name"
              type="text"
              maxlength={100}
              required
              value={form.name}
              autofocus={!!form.fieldErrors?.name}
              aria-invalid={form.fieldErrors?.name ? "true" : undefined}
              aria-describedby={form.fieldErrors?.name ? "name-error" : undefined}
            />
            {form.fieldErrors?.name ? (
              <p class="field-error" id="name-error">
                {form.fieldErrors.name}
              </p>
            ) : null}
          </div>
          <div>
            <label for="expiresOn">
              Expires on{" "}
              <span class="hint">Optional; the key stops working at the end of that day (UTC)</span>
            </label>
            <input
              id="expiresOn"
              name="expiresOn"
              type="date"
              min={today}
              value={form.expiresOn}
              autofocus={!form.fieldErrors?.name && !!form.fieldErrors?.expiresOn}
              aria-invalid={form.fieldErrors?.expiresOn ? "true" : undefined}
              aria-describedby={form.fieldErrors?.expiresOn ? "expiresOn-error" : undefined}
            />
            {form.fieldErrors?.expiresOn ? (
              <p class="field-error" id="expiresOn-error">
                {form.fieldErrors.expiresOn}
              </p>
            ) : null}
          </div>
          <div>
            <button type="submit">Create key</button>
          </div>
        </div>
      </form>
    </section>
    <section aria-labelledby="list-title">
      <h2 id="list-title">Your keys</h2>
      {keys.length === 0 ? (
        <p class="muted">No keys yet: create one above to call the API.</p>
      ) : (
        <>
          <p class="muted" id="list-note">
            A key is shown once, when it is made; here you see its first characters only.
          </p>
          <div class="table-wrap">
            <table class="cards-on-phone" aria-labelledby="list-title" aria-describedby="list-note">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Starts with</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {keys.map((item) => (
                  <KeyRow item={item} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  </Layout>
);
