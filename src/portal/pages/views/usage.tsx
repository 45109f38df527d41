import type { FC } from "hono/jsx";
import type { DayCounts } from "../../../usage/usage-service";
import { type PortalUsage, totalsOf } from "../../services/portal-usage";
import { count, formatNumber, Layout, type PageContext, When } from "../layout";
import { ChartLegend, UsageChart } from "./usage-chart";

const QuotaBar: FC<{ quota: PortalUsage["quota"] }> = ({ quota }) => {
  const share = quota.limit > 0 ? Math.min(1, quota.used / quota.limit) : 0;
  // A handful of requests is not "0%": say so until the first whole percent.
  const percent = share > 0 && share < 0.01 ? "less than 1%" : `${Math.round(share * 100)}%`;
  return (
    <section aria-labelledby="quota-title">
      <h2 id="quota-title">This month's quota</h2>
      <label for="quota-meter" class="muted">
        {`${formatNumber(quota.used)} of ${count(quota.limit, "request")} used in ${quota.month} (${percent})`}
      </label>
      <meter
        id="quota-meter"
        min={0}
        max={quota.limit}
        value={quota.used}
        low={quota.limit * 0.75}
        high={quota.limit * 0.9}
        optimum={0}
      >
        {percent}
      </meter>
      <p class="muted">
        Shared by all your keys; starts again from zero <When iso={quota.resetsAt} />.
      </p>
    </section>
  );
};

const DayTable: FC<{ days: DayCounts[] }> = ({ days }) => {
  const used = days.filter((day) => day.total > 0);
  return (
    <details>
      <summary>The numbers, day by day</summary>
      {used.length === 0 ? (
        <p class="muted">No requests in this period.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" class="num">
                  OK
                </th>
                <th scope="col" class="num">
                  Rate limited
                </th>
                <th scope="col" class="num">
                  Over quota
                </th>
                <th scope="col" class="num">
                  Refused key
                </th>
              </tr>
            </thead>
            <tbody>
              {used.map((day) => (
                <tr>
                  <th scope="row">{day.day}</th>
                  <td class="num">{formatNumber(day.ok)}</td>
                  <td class="num">{formatNumber(day.rate_limited)}</td>
                  <td class="num">{formatNumber(day.quota)}</td>
                  <td class="num">{formatNumber(day.auth)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
};

export const UsagePage: FC<{
  page: PageContext;
  usage: PortalUsage;
  /** Set when the page shows one key. */
  selected?: { id: string; name: string };
}> = ({ page, usage, selected }) => {
  const days = selected ? (usage.keys[0]?.series ?? []) : usage.total;
  const totals = totalsOf(days);
  const subject = selected ? `key "${selected.name}"` : "all your keys";
  return (
    <Layout page={page} title="Usage" current="usage">
      <h1>{selected ? `Usage of key "${selected.name}"` : "Usage"}</h1>
      {selected ? (
        <p>
          <a href="/portal/usage">Back to all keys</a>
        </p>
      ) : null}
      <QuotaBar quota={usage.quota} />
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Requests per day, last 30 days</h2>
        <p class="muted" id="usage-summary">
          {`${count(totals.ok + totals.rate_limited + totals.quota, "request")} from ${subject}: ${formatNumber(totals.ok)} OK, ${formatNumber(totals.rate_limited)} rate limited, ${formatNumber(totals.quota)} over quota.`}
        </p>
        <UsageChart id="usage-chart" title={`Requests per day for ${subject}`} days={days} />
        <ChartLegend />
        <DayTable days={days} />
      </section>
      {selected ? null : (
        <section aria-labelledby="keys-title">
          <h2 id="keys-title">By key</h2>
          {usage.keys.length === 0 ? (
            <p class="muted">
              No keys yet. <a href="/portal/keys">Create one</a>.
            </p>
          ) : (
            <div class="table-wrap">
              <table class="cards-on-phone">
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col" class="num">
                      OK
                    </th>
                    <th scope="col" class="num">
                      Rate limited
                    </th>
                    <th scope="col" class="num">
                      Over quota
                    </th>
                    <th scope="col">Chart</th>
                  </tr>
                </thead>
                <tbody>
                  {usage.keys.map((series) => {
                    const sum = totalsOf(series.series);
                    return (
                      <tr data-key-id={series.keyId}>
                        <th scope="row">{series.name || "(no name)"}</th>
                        <td class="num" data-label="OK">
                          {formatNumber(sum.ok)}
                        </td>
                        <td class="num" data-label="Rate limited">
                          {formatNumber(sum.rate_limited)}
                        </td>
                        <td class="num" data-label="Over quota">
                          {formatNumber(sum.quota)}
                        </td>
                        <td data-label="Actions">
                          <a href={`/portal/usage?key=${encodeURIComponent(series.keyId)}`}>
                            View<span class="sr-only"> usage of {series.name}</span>
                          </a>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </Layout>
  );
};
