import { and, desc, eq, lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { type AuditEvent, auditEvents } from "../db/schema/audit-events";

/** An account's audit events, newest first, in pages: pass the last id seen as `before` for the next page. */
export async function listAuditEvents(
  db: Database,
  accountId: string,
  page: { limit: number; before?: number },
): Promise<{ events: AuditEvent[]; nextBefore: number | null }> {
  const scope = page.before
    ? and(eq(auditEvents.accountId, accountId), lt(auditEvents.id, page.before))
    : eq(auditEvents.accountId, accountId);
  const events = await db
    .select()
    .from(auditEvents)
    .where(scope)
    .orderBy(desc(auditEvents.id))
    .limit(page.limit + 1);
  const more = events.length > page.limit;
  const shown = events.slice(0, page.limit);
  return { events: shown, nextBefore: more ? (shown.at(-1)?.id ?? null) : null };
}
