import type { FC } from "hono/jsx";
import { ROTATION_OVERLAP_HOURS } from "../../../keys/key-service";
import type { PortalKey } from "../../services/portal-keys";
import { CsrfField, Layout, type PageContext } from "../layout";

export const RevokeKeyPage: FC<{ page: PageContext; item: PortalKey }> = ({ page, item }) => (
  <Layout page={page} title="Revoke key" current="keys">
    <h1>Revoke key "{item.name}"?</h1>
    <p>
      Requests with the key starting <code>{item.start}…</code> are refused from the very next one on,
      everywhere. This cannot be undone: a revoked key never works again.
    </p>
    <div class="row">
      <form method="post" action={`/portal/keys/${encodeURIComponent(item.id)}/revoke`}>
        <CsrfField token={page.csrfToken} />
        <button type="submit" class="danger">
          Revoke key
        </button>
      </form>
      <a class="button secondary" href="/portal/keys">
        Cancel
      </a>
    </div>
  </Layout>
);

const OVERLAPS = [0, 1, 24, 72, 168, 720];
const overlapLabel = (hours: number) =>
  hours === 0 ? "none: stop the old key now" : hours < 24 ? `${hours} hour` : `${hours / 24} days`;

export const RotateKeyPage: FC<{ page: PageContext; item: PortalKey }> = ({ page, item }) => (
  <Layout page={page} title="Rotate key" current="keys">
    <h1>Rotate key "{item.name}"</h1>
    <p>
      You get a new key now. The old one (<code>{item.start}…</code>) keeps working for the overlap you
      choose, so clients can switch without downtime; then it is refused.
    </p>
    <form class="stack" method="post" action={`/portal/keys/${encodeURIComponent(item.id)}/rotate`}>
      <CsrfField token={page.csrfToken} />
      <div>
        <label for="overlapHours">Old key keeps working for</label>
        <select id="overlapHours" name="overlapHours">
          {OVERLAPS.map((hours) => (
            <option value={String(hours)} selected={hours === ROTATION_OVERLAP_HOURS.default}>
              {overlapLabel(hours)}
            </option>
          ))}
        </select>
      </div>
      <div class="row">
        <button type="submit">Rotate key</button>
        <a class="button secondary" href="/portal/keys">
          Cancel
        </a>
      </div>
    </form>
  </Layout>
);
