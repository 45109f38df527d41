/** A timer that fires at most this late (ms) found the isolate free: the deadline holds. */
const ON_TIME_MS = 20;

/**
 * An AbortSignal that aborts with a `TimeoutError` DOMException (as `AbortSignal.timeout` does) once
 * `timeoutMs` have passed in which this isolate was free to read a reply, and at the latest `capMs` after it
 * was made.
 *
 * Why: an isolate busy with a burst of its own requests reads a reply that arrived in time only after its
 * queue drains; a wall-clock deadline then blames the dependency for the isolate's own load (on a 2-core
 * machine, 500 requests at once made Redis replies that took 2 ms "miss" a 300 ms deadline). A timer that
 * fires more than 20 ms after it was due is the sign of such event-loop lag (the measure Node's
 * `monitorEventLoopDelay` takes): the deadline is then moved on by the time lost, so the replies queued
 * meanwhile are read first. A dependency that is really slow or down still aborts after `timeoutMs` on an
 * idle isolate, and after `capMs` on the busiest one.
 *
 * @param timeoutMs the deadline, in ms of time the isolate was free.
 * @param capMs the latest abort, in ms after the call (clamped to at least `timeoutMs`).
 */
export function lagTolerantTimeout(timeoutMs: number, capMs: number): AbortSignal {
  const controller = new AbortController();
  const startedAt = Date.now();
  const latestAt = startedAt + Math.max(timeoutMs, capMs);
  let dueAt = startedAt + timeoutMs;
  const check = () => {
    const now = Date.now();
    const late = now - dueAt;
    if (late > ON_TIME_MS && now < latestAt) {
      dueAt = Math.min(now + late, latestAt);
      setTimeout(check, dueAt - now);
      return;
    }
    controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  };
  setTimeout(check, timeoutMs);
  return controller.signal;
}
