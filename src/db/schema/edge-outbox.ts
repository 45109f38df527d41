import { bigserial, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Which record of the edge's (Redis) a row asks to republish: a key by its hash, or an account by id. */
export const edgeOutboxKinds = ["key", "account"] as const;
export type EdgeOutboxKind = (typeof edgeOutboxKinds)[number];

/**
 * Changes Postgres committed that the edge must learn. Written by triggers (drizzle/0005_edge_outbox.sql) in
 * the changing transaction itself, so no code path (service, webhook, cron, operator SQL) can commit a change
 * without one; deleted by `replayEdgeOutbox` only after Redis holds the committed truth.
 */
export const edgeOutbox = pgTable(
  "edge_outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    kind: text("kind", { enum: edgeOutboxKinds }).notNull(),
    /** The key's SHA-256 hex, or the account id. */
    ref: text("ref").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("edge_outbox_ref_idx").on(table.kind, table.ref)],
);

export type EdgeOutboxRow = typeof edgeOutbox.$inferSelect;
