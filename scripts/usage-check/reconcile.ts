// Compares, per account, what the access log served with what usage, quota and meter hold, and prints it.
import { emptyServed, type Served } from "./access-log.ts";
import { emptyHeld, type Held } from "./sources.ts";

export interface AccountFigures {
  accountId: string;
  served: Served;
  usage: Held;
  /** Monthly quota counters of the months the range covers whole; empty when none is (or Redis is absent). */
  quota: Map<string, number>;
  meter: { reported: number; pending: number };
  /** Meter events Stripe accepted; undefined when they cannot be read (not the local stand-in). */
  stripe: number | undefined;
  /** The account has a Stripe customer, without which metering reports nothing. */
  customer: boolean;
}

export interface AccountCheck extends AccountFigures {
  differences: string[];
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

/**
 * A served figure as the range of counts it allows: exact for a log of every request; for a sampled log
 * (lines with `sampleRate`) the estimate +- 4 standard deviations, outside which a true count falls about
 * once in 16,000 checks. `extra` widens the top (lines the log cannot classify).
 */
function allowed(estimate: number, variance: number, extra = 0): { low: number; high: number; text: string } {
  const spread = Math.ceil(4 * Math.sqrt(variance));
  const low = Math.round(estimate) - spread;
  const high = Math.round(estimate) + extra + spread;
  if (spread === 0) return { low, high, text: extra > 0 ? `${low}-${high}` : String(low) };
  return { low, high, text: `about ${Math.round(estimate)} (sampled log: ${Math.max(0, low)}-${high})` };
}

/**
 * The differences of one account, each a sentence. A served request usage did not count (or the reverse) is
 * one; so is a quota month whose counter differs from the month's `ok` requests, billable usage Stripe has not
 * accepted, and meter_reports and Stripe disagreeing. Lines the access log cannot classify (`unsure`) widen
 * the served `ok` figure into a range instead of counting as a difference.
 */
export function differencesOf(figures: AccountFigures): string[] {
  const { served, usage, meter, stripe } = figures;
  const out: string[] = [];
  const ok = allowed(served.ok, served.okVariance, served.unsure);
  if (usage.ok < ok.low || usage.ok > ok.high) {
    out.push(
      `usage counts ${usage.ok} ok requests, the access log served ${ok.text} (${signed(usage.ok - Math.round(served.ok))})`,
    );
  }
  if (usage.refused !== served.refused)
    out.push(
      `usage counts ${usage.refused} refused (429) requests, the access log ${served.refused} (${signed(usage.refused - served.refused)})`,
    );
  const metered = allowed(served.okMetered, served.okMeteredVariance);
  if (usage.billable < metered.low || usage.billable > metered.high)
    out.push(
      `usage has ${usage.billable} ok requests under a metered tier, the access log ${metered.text} (${signed(usage.billable - Math.round(served.okMetered))})`,
    );
  for (const [month, charged] of figures.quota) {
    const okServed = served.okByMonth.get(month) ?? 0;
    const monthServed = allowed(okServed, served.okByMonthVariance.get(month) ?? 0);
    if (charged < monthServed.low || charged > monthServed.high)
      out.push(
        `quota ${month} holds ${charged}, the access log served ${monthServed.text} ok (${signed(charged - Math.round(okServed))})`,
      );
  }
  if (!figures.customer && usage.billable > 0)
    out.push(`${usage.billable} billable requests, but the account has no Stripe customer to bill`);
  else if (meter.reported + meter.pending !== usage.billable)
    out.push(
      `Stripe accepted ${meter.reported}${meter.pending ? ` (+${meter.pending} in flight)` : ""} of ${usage.billable} billable requests (${signed(meter.reported + meter.pending - usage.billable)})`,
    );
  if (stripe !== undefined && stripe !== meter.reported)
    out.push(
      `Stripe recorded ${stripe} metered requests, meter_reports ${meter.reported} (${signed(stripe - meter.reported)})`,
    );
  return out;
}

export function checkAccounts(figures: AccountFigures[]): AccountCheck[] {
  return figures.map((f) => ({ ...f, differences: differencesOf(f) }));
}

export const blankFigures = (accountId: string): AccountFigures => ({
  accountId,
  served: emptyServed(),
  usage: emptyHeld(),
  quota: new Map(),
  meter: { reported: 0, pending: 0 },
  stripe: undefined,
  customer: false,
});

/** A fixed-width table, one row per account, then each difference on its own line. */
export function formatReport(checks: AccountCheck[]): string {
  const header = [
    "account",
    "served ok",
    "usage ok",
    "quota",
    "served metered",
    "billable",
    "meter",
    "stripe",
    "",
  ];
  const rows = checks.map((c) => [
    c.accountId,
    `${c.served.okVariance > 0 ? "~" : ""}${Math.round(c.served.ok)}${c.served.unsure ? ` (+${c.served.unsure}?)` : ""}`,
    String(c.usage.ok),
    c.quota.size ? [...c.quota.values()].reduce((a, b) => a + b, 0).toString() : "-",
    `${c.served.okMeteredVariance > 0 ? "~" : ""}${Math.round(c.served.okMetered)}`,
    String(c.usage.billable),
    c.meter.pending ? `${c.meter.reported} (+${c.meter.pending})` : String(c.meter.reported),
    c.stripe === undefined ? "-" : String(c.stripe),
    c.differences.length ? "DIFFERS" : "ok",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  const differing = checks.filter((c) => c.differences.length);
  if (differing.length) {
    out.push("");
    for (const c of differing)
      for (const difference of c.differences) out.push(`${c.accountId}: ${difference}`);
  }
  return out.join("\n");
}
