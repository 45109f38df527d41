import type { FC } from "hono/jsx";
import type { PlanChangePreview } from "../../../billing/checkout/plan-change";
import { planFor } from "../../../plans/plans";
import type { BillingSummary } from "../../services/portal-billing";
import { CsrfField, formatNumber, Layout, Notice, type PageContext, When } from "../layout";

const STATUS_TEXT: Record<string, string> = {
  active: "Active",
  trialing: "Trial",
  past_due: "Payment past due",
  canceled: "Cancelled",
  incomplete: "Waiting for the first payment",
  incomplete_expired: "Checkout not completed",
  unpaid: "Unpaid",
  paused: "Paused",
};

export const BillingPage: FC<{ page: PageContext; billing: BillingSummary; notice?: string }> = ({
  page,
  billing,
  notice,
}) => (
  <Layout page={page} title="Billing" current="billing">
    <h1>Billing</h1>
    <Notice text={notice} />
    {billing.paymentActionRequired ? (
      <div class="alert" role="alert">
        <p>
          <strong>Your bank asks you to confirm a payment</strong> (3-D Secure). Open Manage billing to
          authenticate it; until then the invoice stays unpaid.
        </p>
      </div>
    ) : null}
    {billing.scheduledChange ? (
      <div class="notice" role="status" id="scheduled-change">
        <p>
          {billing.scheduledChange.tier === "free" ? (
            <>
              Your subscription ends on <When iso={billing.scheduledChange.at} />; after that your account is
              on the Free plan.
            </>
          ) : (
            <>
              {`Changes to ${billing.scheduledChange.name} on `}
              <When iso={billing.scheduledChange.at} />. Until then you keep your current plan and limits.
            </>
          )}
        </p>
        <form method="post" action="/portal/billing/change/cancel">
          <CsrfField token={page.csrfToken} />
          <button type="submit" class="secondary">
            Keep my current plan
          </button>
        </form>
      </div>
    ) : billing.cancelAt ? (
      <p class="notice" role="status">
        Your subscription ends on <When iso={billing.cancelAt} />; after that your account is on the Free
        plan.
      </p>
    ) : null}
    {billing.pastDueSince ? (
      <div class="alert" role="alert">
        <p>
          <strong>Your payment is past due</strong> since <When iso={billing.pastDueSince} />. Update your
          payment method in the billing portal: unless a payment succeeds by{" "}
          <When iso={billing.downgradeAt} />, your account moves to the Free plan.
        </p>
      </div>
    ) : null}
    <div class="cards">
      <section class="card" aria-labelledby="plan-title">
        <h2 id="plan-title">Your plan</h2>
        <p class="price">
          <strong>{billing.plan.name}</strong> · {billing.plan.price}
        </p>
        <p class="muted">{`${formatNumber(billing.plan.monthlyQuota)} requests a month`}</p>
        <p>
          Subscription:{" "}
          <strong>
            {billing.subscriptionStatus
              ? (STATUS_TEXT[billing.subscriptionStatus] ?? billing.subscriptionStatus)
              : "none"}
          </strong>
        </p>
        {billing.canManage ? (
          <form method="post" action="/portal/billing/manage">
            <CsrfField token={page.csrfToken} />
            <button type="submit" class="secondary">
              Manage billing
            </button>
          </form>
        ) : (
          <p class="muted">Invoices and payment methods appear here after your first upgrade.</p>
        )}
      </section>
      {billing.subscribed && billing.upgrades.length > 0 ? (
        <section class="card" aria-labelledby="change-title">
          <h2 id="change-title">Change plan</h2>
          <p class="muted">
            You see what it costs before anything changes. Upgrades are charged now, prorated; a move to a
            lower plan may take effect when the current period ends (the preview says when).
          </p>
          <div class="actions">
            {billing.upgrades.map((change) => (
              <a class="button" href={`/portal/billing/change?tier=${change.tier}`}>
                {`Change to ${change.name} (${change.price})`}
              </a>
            ))}
          </div>
        </section>
      ) : null}
      {!billing.subscribed && billing.upgrades.length > 0 ? (
        <section class="card" aria-labelledby="upgrade-title">
          <h2 id="upgrade-title">Upgrade</h2>
          <p class="muted">Payment is handled by Stripe; your new limits apply as soon as it confirms.</p>
          <div class="actions">
            {billing.upgrades.map((upgrade) => (
              <form method="post" action="/portal/billing/checkout">
                <CsrfField token={page.csrfToken} />
                <input type="hidden" name="tier" value={upgrade.tier} />
                <button type="submit">{`Upgrade to ${upgrade.name} (${upgrade.price})`}</button>
              </form>
            ))}
          </div>
        </section>
      ) : null}
    </div>
  </Layout>
);

const money = (amount: number, currency: string) =>
  new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(
    amount / 100,
  );

/** Stripe's invoice preview of a plan change, and the button that applies exactly it. */
export const PlanChangePage: FC<{ page: PageContext; preview: PlanChangePreview }> = ({ page, preview }) => (
  <Layout page={page} title="Change plan" current="billing">
    <h1>{`Change from ${planFor(preview.from).name} to ${planFor(preview.to).name}`}</h1>
    <table>
      <tbody>
        {preview.lines.map((line) => (
          <tr>
            <td>{line.description}</td>
            <td class="number">{money(line.amount, preview.currency)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {preview.effective === "period_end" ? (
      <p id="effective-at">
        Takes effect at the end of the current period, on <When iso={preview.effectiveAt} />. Until then you
        keep your current plan.
      </p>
    ) : null}
    <p id="amount-due">
      {preview.billed === "now" ? "Charged now: " : "Next invoice: "}
      <strong>{money(preview.amountDue, preview.currency)}</strong>
    </p>
    <form method="post" action="/portal/billing/change">
      <CsrfField token={page.csrfToken} />
      <input type="hidden" name="tier" value={preview.to} />
      <input type="hidden" name="prorationDate" value={String(preview.prorationDate)} />
      <button type="submit">{`Confirm: change to ${planFor(preview.to).name}`}</button>
    </form>
    <p>
      <a href="/portal/billing">Cancel</a>
    </p>
  </Layout>
);
