/**
 * How long an isolate may use a lease of tokens (ms): revocations and tier changes reach every isolate
 * within it. In a file of its own so the Node-side tests can import it.
 */
export const LEASE_MS = 1000;
