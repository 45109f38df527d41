import type { FC } from "hono/jsx";
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
      {billing.upgrades.length > 0 ? (
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
