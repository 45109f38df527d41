import { and, eq, ne } from "drizzle-orm";
import type Stripe from "stripe";
import { recordAudit } from "../../audit/audit";
import type { Database } from "../../db/client";
import { type Account, accounts } from "../../db/schema/accounts";
import { stripeEvents } from "../../db/schema/stripe-events";
import type { Logger } from "../../lib/log";
import type { PriceEnvironment } from "../../plans/plans";
import { deriveEntitlement, type Entitlement, isEnded, type SubscriptionView } from "./entitlement";
import { repairMeteredItems } from "./metered-repair";
import { readCustomerState } from "./stripe-customer-state";

type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

interface SyncDeps {
  db: Database;
  stripe: Stripe;
  environment: PriceEnvironment;
  /** PAST_DUE_GRACE_DAYS. */
  graceDays: number;
  now: Date;
  log?: Logger;
}

/** Why a sync runs: a Stripe event (claimed once), or the gateway itself (plan change, cron). */
interface SyncTrigger {
  event?: { id: string; type: string; created: number };
  /** The Stripe customer the event is about. */
  customerId?: string | null;
  /** The account the event names (checkout's client_reference_id, a subscription's metadata.account_id). */
  accountId?: string | null;
  /** invoice.payment_action_required: the invoice waiting for the customer's authentication. */
  actionInvoiceId?: string | null;
  actor: { type: "stripe" | "admin" | "portal" | "system"; id: string };
}

export type SyncOutcome =
  /** The account now reflects Stripe's state of its customer. */
  | "synced"
  /** Stripe no longer knows the account's customer: it was forgotten (the next Checkout creates one). */
  | "customer_forgotten"
  /** No account belongs to the event's customer. */
  | "no_account"
  /** The event is about a customer the account does not use (an earlier, replaced one). */
  | "other_customer";

export type SyncResult =
  /** This event id was processed before: nothing changed now. */
  | { status: "duplicate"; accountId: string | null }
  | {
      status: "processed";
      outcome: SyncOutcome;
      accountId: string | null;
      tierChange?: { from: string; to: string };
    };

/**
 * Makes an account reflect its Stripe customer's current state, once per event id.
 *
 * In one transaction: the event id is claimed (stripe_events' primary key: a redelivery, or twenty
 * concurrent ones, wait on the first claim and then find it), the account row is locked (so events of one
 * customer are applied one at a time: serialised per customer), Stripe is asked for the customer and ALL
 * of its subscriptions, and the entitlement derived from them (entitlement.ts) is written. Each sync reads
 * Stripe after the previous one committed, so the last sync always saw the newest state, whatever order the
 * events came in. Any failure (Stripe unreachable too) rolls the claim back, so Stripe's retry applies it.
 *
 * @throws Stripe.errors.StripeError or a database error; nothing is committed then.
 */
export async function syncCustomer(deps: SyncDeps, trigger: SyncTrigger): Promise<SyncResult> {
  return deps.db.transaction(async (tx): Promise<SyncResult> => {
    if (trigger.event) {
      const { id, type, created } = trigger.event;
      const claimed = await tx
        .insert(stripeEvents)
        .values({ id, type, created })
        .onConflictDoNothing()
        .returning({ id: stripeEvents.id });
      if (claimed.length === 0) {
        const [seen] = await tx
          .select({ accountId: stripeEvents.accountId })
          .from(stripeEvents)
          .where(eq(stripeEvents.id, id));
        return { status: "duplicate", accountId: seen?.accountId ?? null };
      }
    }
    const account = await lockAccount(tx, trigger);
    if (!account) return { status: "processed", outcome: "no_account", accountId: null };
    if (trigger.event) {
      await tx
        .update(stripeEvents)
        .set({ accountId: account.id })
        .where(eq(stripeEvents.id, trigger.event.id));
    }
    const customerId = await customerToRead(tx, account, trigger, deps.log);
    if (customerId === undefined)
      return { status: "processed", outcome: "other_customer", accountId: account.id };
    // No customer: nothing in Stripe is about this account (its tier is what an admin set).
    if (customerId === null) return { status: "processed", outcome: "no_account", accountId: account.id };

    const state = await readCustomerState(deps.stripe, customerId);
    const subscriptions = state.exists ? state.subscriptions : [];
    // Under the same lock: concurrent events of the customer cannot both add the item.
    const repairs = await repairMeteredItems(deps, subscriptions);
    for (const repair of repairs) {
      await recordAudit(tx, {
        accountId: account.id,
        actor: trigger.actor,
        action: "subscription.metered_price_added",
        targetId: repair.subscriptionId,
        data: { price: repair.price, ...(trigger.event ? { stripeEventType: trigger.event.type } : {}) },
      });
    }
    const entitlement = deriveEntitlement(subscriptions, deps.environment, deps.now, deps.graceDays);
    const next = {
      ...columnsOf(entitlement),
      stripeCustomerId: state.exists ? customerId : null,
      paymentActionInvoiceId: awaitingAction(subscriptions, [
        account.paymentActionInvoiceId,
        trigger.actionInvoiceId,
      ]),
      billingSyncedAt: deps.now,
    };
    await tx.update(accounts).set(next).where(eq(accounts.id, account.id));
    const outcome: SyncOutcome = state.exists ? "synced" : "customer_forgotten";
    if (outcome === "customer_forgotten") {
      deps.log?.info("stripe customer no longer exists; forgotten", { accountId: account.id });
    }
    if (next.tier === account.tier) return { status: "processed", outcome, accountId: account.id };
    const tierChange = { from: account.tier, to: next.tier };
    await recordAudit(tx, {
      accountId: account.id,
      actor: trigger.actor,
      action: "account.tier_changed",
      targetId: account.id,
      data: { ...tierChange, ...(trigger.event ? { stripeEventType: trigger.event.type } : {}) },
    });
    return { status: "processed", outcome, accountId: account.id, tierChange };
  });
}

function columnsOf(entitlement: Entitlement) {
  return {
    tier: entitlement.tier,
    subscribedTier: entitlement.subscribedTier,
    stripeSubscriptionId: entitlement.subscriptionId,
    subscriptionStatus: entitlement.subscriptionStatus,
    pastDueSince: entitlement.pastDueSince,
    subscriptionCancelAt: entitlement.subscriptionCancelAt,
    scheduledTier: entitlement.scheduledTier,
    scheduledChangeAt: entitlement.scheduledChangeAt,
  };
}

/** The account by its customer id, else by the account id the event names; locked until the commit. */
async function lockAccount(tx: Transaction, trigger: SyncTrigger): Promise<Account | undefined> {
  if (trigger.customerId) {
    const [byCustomer] = await tx
      .select()
      .from(accounts)
      .where(eq(accounts.stripeCustomerId, trigger.customerId))
      .for("update")
      .limit(1);
    if (byCustomer) return byCustomer;
  }
  if (!trigger.accountId) return undefined;
  const [byId] = await tx.select().from(accounts).where(eq(accounts.id, trigger.accountId)).for("update");
  return byId;
}

/**
 * Which customer to read for the account: its own; or, for an account without one, the event's customer
 * (linked unless another account owns it). Undefined when the event's customer is not the account's.
 */
async function customerToRead(
  tx: Transaction,
  account: Account,
  trigger: SyncTrigger,
  log: Logger | undefined,
): Promise<string | null | undefined> {
  const eventCustomer = trigger.customerId ?? null;
  if (account.stripeCustomerId) {
    if (eventCustomer && eventCustomer !== account.stripeCustomerId) {
      log?.info("stripe event about a customer the account does not use; ignored", { accountId: account.id });
      return undefined;
    }
    return account.stripeCustomerId;
  }
  if (!eventCustomer) return null;
  const [owner] = await tx
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.stripeCustomerId, eventCustomer), ne(accounts.id, account.id)))
    .limit(1);
  if (!owner) return eventCustomer;
  log?.warn("stripe customer already belongs to another account; not linked", {
    accountId: account.id,
    owner: owner.id,
  });
  return undefined;
}

/**
 * The invoice to tell the developer about: one of `candidates` that is still some live subscription's latest
 * invoice and still open (not yet paid or voided). So a payment_action_required that arrives after the
 * payment succeeded shows nothing, and any later sync clears a notice once the invoice is settled.
 */
function awaitingAction(
  subscriptions: SubscriptionView[],
  candidates: Array<string | null | undefined>,
): string | null {
  for (const candidate of candidates) {
    if (!candidate) continue;
    const open = subscriptions.some(
      (view) =>
        !isEnded(view.status) && view.latestInvoice?.id === candidate && view.latestInvoice.status === "open",
    );
    if (open) return candidate;
  }
  return null;
}
