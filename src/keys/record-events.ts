/**
 * Who wants to know, in this isolate, that a key or account record was just published to Redis: the data
 * plane drops what it holds about it (leases, cached records), so a change made through this isolate
 * (a revocation, a rotation, a tier change) applies here from the very next request. Other isolates see it
 * within a lease's second, when they renew (gateway/leases.ts).
 */
interface RecordListener {
  keyPublished(hash: string): void;
  accountPublished(accountId: string): void;
}

const listeners = new Set<RecordListener>();

/** Registers a listener for the isolate's lifetime (one per app). */
export function listenToRecords(listener: RecordListener): void {
  listeners.add(listener);
}

export function announceKeyPublished(hash: string): void {
  for (const listener of listeners) listener.keyPublished(hash);
}

export function announceAccountPublished(accountId: string): void {
  for (const listener of listeners) listener.accountPublished(accountId);
}
