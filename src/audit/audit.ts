import type { Database } from "../db/client";
import { type AuditAction, type AuditActorType, auditEvents } from "../db/schema/audit-events";

export interface Actor {
  type: AuditActorType;
  id?: string | null;
}

export const adminActor: Actor = { type: "admin" };

/** A database or an open transaction: audit rows belong in the same transaction as the change they record. */
type Writer = Pick<Database, "insert">;

export async function recordAudit(
  db: Writer,
  event: {
    accountId: string;
    actor: Actor;
    action: AuditAction;
    targetId: string;
    data?: Record<string, unknown>;
  },
): Promise<void> {
  await db.insert(auditEvents).values({
    accountId: event.accountId,
    actorType: event.actor.type,
    actorId: event.actor.id ?? null,
    action: event.action,
    targetId: event.targetId,
    data: event.data ?? {},
  });
}
