import { and, eq, ne } from "drizzle-orm";
import { recordAudit } from "../audit/audit";
import type { Database } from "../db/client";
import { type Account, accounts } from "../db/schema/accounts";
import { stripeEvents } from "../db/schema/stripe-events";
import type { Logger } from "../lib/log";
import { applyFact, type BillingState, type FactOutcome } from "./billing-state";
import type { AccountLookup, ReadEvent } from "./stripe-facts";

type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

export type ProcessOutcome = FactOutcome | "no_account" | "not_billing";

export type ProcessedEvent =
  /** This event id was processed before: nothing changed now. */
  | { status: "duplicate"; accountId: string | null }
  | {
      status: "processed";
      outcome: ProcessOutcome;
      accountId: string | null;
      tierChange?: { from: string; to: string };
    };

export interface ProcessDeps {
  db: Database;
  now: Date;
  graceDays: number;
  log?: Logger;
}

/**
 * Applies one verified event exactly once: the event id is claimed (stripe_events, primary key) in the same
 * transaction as its effect, so a redelivery, or twenty concurrent ones, finds the claim and changes nothing,
 * and a failure anywhere leaves no claim, so Stripe's retry applies it. Concurrent deliveries of the same id
 * wait on the uncommitted claim; events for the same account queue on its row lock (SELECT ... FOR UPDATE)
 * and then compare `created` with the account's cursors (billing-state.ts).
 */
export async function processBillingEvent(
  deps: ProcessDeps,
  event: { id: string; type: string; created: number },
  read: ReadEvent,
): Promise<ProcessedEvent> {
  return deps.db.transaction(async (tx): Promise<ProcessedEvent> => {
    const claimed = await tx
      .insert(stripeEvents)
      .values({ id: event.id, type: event.type, created: event.created })
      .onConflictDoNothing()
      .returning({ id: stripeEvents.id });
    if (claimed.length === 0) {
      const [seen] = await tx
        .select({ accountId: stripeEvents.accountId })
        .from(stripeEvents)
        .where(eq(stripeEvents.id, event.id));
      return { status: "duplicate", accountId: seen?.accountId ?? null };
    }
    const account = await lockAccount(tx, read.lookup);
    if (!account) return { status: "processed", outcome: "no_account", accountId: null };
    await tx.update(stripeEvents).set({ accountId: account.id }).where(eq(stripeEvents.id, event.id));
    if (!read.fact) return { status: "processed", outcome: "not_billing", accountId: account.id };

    const before = billingStateOf(account);
    const { state, outcome } = applyFact(before, read.fact, deps.now, deps.graceDays);
    if (state.stripeCustomerId !== before.stripeCustomerId) {
      state.stripeCustomerId = await customerIdIfFree(tx, account.id, state.stripeCustomerId, deps.log);
    }
    if (!sameState(before, state)) {
      await tx.update(accounts).set(state).where(eq(accounts.id, account.id));
    }
    if (state.tier === before.tier) return { status: "processed", outcome, accountId: account.id };
    const tierChange = { from: before.tier, to: state.tier };
    await recordAudit(tx, {
      accountId: account.id,
      actor: { type: "stripe", id: event.id },
      action: "account.tier_changed",
      targetId: account.id,
      data: tierChange,
    });
    return { status: "processed", outcome, accountId: account.id, tierChange };
  });
}

/** The first account the lookup finds, locked until the transaction ends. */
async function lockAccount(tx: Transaction, lookup: AccountLookup): Promise<Account | undefined> {
  for (const where of lookup) {
    const condition =
      where.by === "id" ? eq(accounts.id, where.id) : eq(accounts.stripeCustomerId, where.customerId);
    const [account] = await tx.select().from(accounts).where(condition).for("update").limit(1);
    if (account) return account;
  }
  return undefined;
}

/**
 * A customer id learnt from an event is stored only if no other account owns it (the column is unique; a
 * conflict would fail the transaction on every redelivery).
 */
async function customerIdIfFree(
  tx: Transaction,
  accountId: string,
  customerId: string | null,
  log: Logger | undefined,
): Promise<string | null> {
  if (customerId === null) return null;
  const [owner] = await tx
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.stripeCustomerId, customerId), ne(accounts.id, accountId)))
    .limit(1);
  if (!owner) return customerId;
  log?.warn("stripe customer already belongs to another account; not linked", { accountId, owner: owner.id });
  return null;
}

function billingStateOf(account: Account): BillingState {
  return {
    tier: account.tier,
    subscribedTier: account.subscribedTier,
    stripeCustomerId: account.stripeCustomerId,
    stripeSubscriptionId: account.stripeSubscriptionId,
    subscriptionStatus: account.subscriptionStatus,
    billingEventCreated: account.billingEventCreated,
    paymentEventCreated: account.paymentEventCreated,
    pastDueSince: account.pastDueSince,
  };
}

function sameState(a: BillingState, b: BillingState): boolean {
  return (Object.keys(a) as Array<keyof BillingState>).every((field) => {
    const x = a[field];
    const y = b[field];
    return x instanceof Date && y instanceof Date ? x.getTime() === y.getTime() : x === y;
  });
}
