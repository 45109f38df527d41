/**
 * A small in-isolate cache with a time to live and a size bound (least recently used out first), so
 * memory stays flat however many keys call. Map keeps insertion order, which gives LRU for free.
 *
 * Recency is refreshed at most once per `touchEveryMs` (1 s) per entry, not on every hit: moving an entry to
 * the end is a delete and a set, and on a Map of thousands of entries doing that on every request of a hot
 * key cost the gateway 0.1 ms of CPU a request or more (measured, docs/BENCHMARK.md). An entry read within the
 * last second is never the least recently used unless the cache turned over in that second.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number; touchedAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly touchEveryMs = 1000,
  ) {}

  get(key: K, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    if (now - entry.touchedAt >= this.touchEveryMs) {
      entry.touchedAt = now;
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V, now = Date.now(), ttlMs = this.ttlMs): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: now + ttlMs, touchedAt: now });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
