import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Reply } from "./errors.ts";

export type StripeObject = Record<string, unknown> & { id: string };

/**
 * Everything the stand-in knows, as plain JSON so it can be written to disk: like Stripe, it does not
 * forget customers and subscriptions when it restarts (dev keeps the file under .local/, tests in their
 * temporary state folder).
 */
export interface StandinData {
  customers: Record<string, StripeObject>;
  subscriptions: Record<string, StripeObject>;
  subscriptionSchedules: Record<string, StripeObject>;
  invoices: Record<string, StripeObject>;
  checkoutSessions: Record<string, StripeObject>;
  portalSessions: Record<string, StripeObject>;
  /** Events, oldest first. */
  events: StripeObject[];
  /** Meter events: value reported per customer, with timestamps (for invoice previews). */
  meterEvents: Array<{
    customer: string;
    value: number;
    timestamp: number;
    identifier: string;
    key: string;
    receivedAt: number;
  }>;
  idempotent: Record<string, { fingerprint: string; reply: Reply }>;
  /** Proration lines waiting for a subscription's next invoice (Stripe's pending invoice items). */
  pendingLines: Record<string, StripeObject[]>;
}

const empty = (): StandinData => ({
  customers: {},
  subscriptions: {},
  subscriptionSchedules: {},
  invoices: {},
  checkoutSessions: {},
  portalSessions: {},
  events: [],
  meterEvents: [],
  idempotent: {},
  pendingLines: {},
});

export function loadData(file: string | undefined): StandinData {
  if (!file || !existsSync(file)) return empty();
  try {
    return { ...empty(), ...(JSON.parse(readFileSync(file, "utf8")) as Partial<StandinData>) };
  } catch {
    // A torn or hand-edited file: start afresh rather than refuse to start; the old file is kept aside.
    renameSync(file, `${file}.unreadable-${Date.now()}`);
    return empty();
  }
}

/** Written whole, to a temporary file renamed over the old one, so a crash never leaves half a file. */
export function saveData(file: string | undefined, data: StandinData): void {
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(data));
  renameSync(temporary, file);
}

export const randomId = (prefix: string) =>
  `${prefix}_${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}`;
export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const clone = <T>(value: T): T => structuredClone(value);
