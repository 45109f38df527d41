import type { FC } from "hono/jsx";
import type { CodeSamples } from "../../../docs/code-samples";
import type { PortalKey } from "../../services/portal-keys";
import { CsrfField, Layout, type PageContext, When } from "../layout";

const CopyButton: FC<{ target: string; label: string }> = ({ target, label }) => (
  <button type="button" class="secondary" data-copy={target} data-label={label}>
    {label}
  </button>
);

/**
 * The one time a key is shown: after it was created or rotated. Nothing here can be shown again, so the page
 * says so, offers a copy button and a ready curl line, and the API reference with the key filled in.
 */
export const KeySecretPage: FC<{
  page: PageContext;
  heading: string;
  record: PortalKey;
  secret: string;
  samples: CodeSamples;
  previous?: PortalKey;
}> = ({ page, heading, record, secret, samples, previous }) => (
  <Layout page={page} title={heading} current="keys" withScript>
    <h1>{heading}</h1>
    <p class="alert" role="alert">
      Copy your key now: this is the only time it is shown. We keep only a hash of it.
    </p>
    {previous ? (
      <p class="notice" role="status">
        Your old key <code>{previous.start}…</code> keeps working until <When iso={previous.expiresAt} />, so
        you have until then to switch your clients to the new one.
      </p>
    ) : null}
    <h2 id="key-label">Key "{record.name}"</h2>
    <div class="secret">
      <code id="new-key">{secret}</code>
      <CopyButton target="new-key" label="Copy key" />
    </div>
    <p class="muted">
      {record.expiresAt ? (
        <>
          It expires <When iso={record.expiresAt} />.
        </>
      ) : (
        "It does not expire; revoke it when you no longer need it."
      )}
    </p>
    <h2 id="curl-label">Try it</h2>
    <p class="muted">
      <code>
        {samples.operation.method} {samples.operation.path}
      </code>
      {samples.operation.summary ? `: ${samples.operation.summary}` : null}, with your new key.
    </p>
    <h3>curl</h3>
    <div class="secret">
      <pre id="curl-line">{samples.curl}</pre>
      <CopyButton target="curl-line" label="Copy command" />
    </div>
    <details>
      <summary>JavaScript (fetch)</summary>
      <div class="secret">
        <pre id="js-sample">{samples.javascript}</pre>
        <CopyButton target="js-sample" label="Copy code" />
      </div>
    </details>
    <details>
      <summary>Python (requests)</summary>
      <div class="secret">
        <pre id="python-sample">{samples.python}</pre>
        <CopyButton target="python-sample" label="Copy code" />
      </div>
    </details>
    <div class="row">
      <form method="post" action="/portal/docs">
        <CsrfField token={page.csrfToken} />
        <input type="hidden" name="key" value={secret} />
        <button type="submit" class="secondary">
          Open the API reference with this key
        </button>
      </form>
      <a class="button" href="/portal/keys">
        Done: back to your keys
      </a>
    </div>
  </Layout>
);
