import type { FC } from "hono/jsx";
import { CsrfField, FormError, Layout, type PageContext } from "../layout";

/**
 * The way into the API reference with a key filled in. Keys are stored only as hashes, so the developer
 * pastes one (or comes from the page that showed a new key); it travels in a POST body, never in a URL.
 */
export const DocsKeyPage: FC<{ page: PageContext; error?: string }> = ({ page, error }) => (
  <Layout page={page} title="API reference" current="docs">
    <h1>API reference</h1>
    <p class="lead">
      The full reference is at <a href="/docs">/docs</a>. To send requests from it with one of your keys ready
      in "Try it", paste the key here.
    </p>
    <FormError text={error} />
    <form class="stack" method="post" action="/portal/docs">
      <CsrfField token={page.csrfToken} />
      <div>
        <label for="key">
          API key <span class="hint">Starts with gw_; only a key of your own account is accepted</span>
        </label>
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          aria-invalid={error ? "true" : undefined}
        />
      </div>
      <div>
        <button type="submit">Open the reference with this key</button>
      </div>
    </form>
  </Layout>
);
