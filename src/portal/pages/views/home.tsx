import type { FC } from "hono/jsx";
import { type Plan, tierIds } from "../../../plans/plans";
import { formatNumber, Layout, type PageContext } from "../layout";

export const HomePage: FC<{ page: PageContext; plans: Record<string, Plan>; apiPrefix: string }> = ({
  page,
  plans,
  apiPrefix,
}) => (
  <Layout page={page} title="Home" current="home">
    <h1>Build on our API</h1>
    <p class="lead">
      A JSON API served at the edge, close to your users. Create an API key, send it in the{" "}
      <code>X-API-Key</code> header to anything under <code>{apiPrefix}</code>, and watch your usage here.
      Start free; upgrade when you need more.
    </p>
    <p class="row">
      {page.user ? (
        <a class="button" href="/portal/keys">
          Go to your keys
        </a>
      ) : (
        <>
          <a class="button" href="/portal/signup">
            Sign up free
          </a>
          <a class="button secondary" href="/portal/login">
            Log in
          </a>
        </>
      )}
      <a class="button secondary" href="/docs">
        Read the API reference
      </a>
    </p>
    <section aria-labelledby="plans-title">
      <h2 id="plans-title">Plans</h2>
      <ul class="plans">
        {tierIds.map((tier) => {
          const plan = plans[tier] as Plan;
          return (
            <li class="plan">
              <h3>{plan.name}</h3>
              <p class="price">{plan.display.price}</p>
              <p class="muted">{plan.display.summary}</p>
              <ul>
                {plan.display.features.map((feature) => (
                  <li>{feature}</li>
                ))}
              </ul>
            </li>
          );
        })}
      </ul>
      <p class="muted">
        Limits apply per key (requests a minute) and per account (requests a calendar month, UTC); every
        response tells you what is left in its <code>RateLimit</code> header. A free plan allows{" "}
        {formatNumber(plans.free?.monthlyQuota ?? 0)} requests a month.
      </p>
    </section>
  </Layout>
);
