import { describe, expect, it } from "vitest";
import { isBillingEventType, subjectOf, UnreadableEvent } from "../../src/billing/stripe/stripe-facts";

// What the webhook reads from a verified Stripe event before touching anything (docs.stripe.com/api/events).

describe("Stripe facts", () => {
  it("know the event types billing handles, and nothing else", () => {
    expect(isBillingEventType("customer.subscription.updated")).toBe(true);
    expect(isBillingEventType("invoice.paid")).toBe(true);
    expect(isBillingEventType("charge.succeeded")).toBe(false);
  });

  it("read the customer and account an event names, expanded or not", () => {
    expect(
      subjectOf({
        type: "checkout.session.completed",
        data: { object: { id: "cs_1", customer: "cus_1", client_reference_id: "acct_1" } },
      }),
    ).toEqual({ customerId: "cus_1", accountId: "acct_1", actionInvoiceId: null });
    expect(
      subjectOf({
        type: "customer.subscription.updated",
        data: { object: { id: "sub_1", customer: { id: "cus_2" }, metadata: { account_id: "acct_2" } } },
      }),
    ).toEqual({ customerId: "cus_2", accountId: "acct_2", actionInvoiceId: null });
    expect(
      subjectOf({
        type: "invoice.payment_action_required",
        data: { object: { id: "in_1", customer: "cus_3" } },
      }),
    ).toEqual({ customerId: "cus_3", accountId: null, actionInvoiceId: "in_1" });
    expect(subjectOf({ type: "customer.deleted", data: { object: { id: "cus_4" } } })).toEqual({
      customerId: "cus_4",
      accountId: null,
      actionInvoiceId: null,
    });
  });

  it("refuse an object that lacks what its type promises (answered 400, not a crash)", () => {
    expect(() => subjectOf({ type: "invoice.paid", data: { object: { id: "in_1" } } })).toThrow(
      UnreadableEvent,
    );
    expect(() => subjectOf({ type: "invoice.paid", data: { object: "junk" } })).toThrow(UnreadableEvent);
  });
});
