import { listenToRecords } from "../keys/record-events";
import { TtlCache } from "../lib/ttl-cache";
import { BlockTable } from "./blocks";
import { FallbackLimiter } from "./fallback-limiter";
import { RecordCache } from "./key-records";
import { LeaseFlights } from "./lease-flights";
import { LeaseTable } from "./leases";
import { MonthClock } from "./month";
import { UsageLedger } from "./usage";
import { UsageFlusher } from "./usage-flush";

/**
 * Everything the data plane keeps in one isolate's memory, in one object that handleApiRequest receives:
 * key and account records, leases of tokens and the round trips that renew them, remembered refusals, the
 * fail-open fallback's counts, the usage ledger and its flush. Nothing else in src/gateway holds state.
 */
export interface GatewayState {
  /**
   * SHA-256 hex by API key, for keys of this environment whose checksum held, so a busy key is not
   * checksummed and hashed on every request (about 0.02-0.03 ms of one in the profile, docs/BENCHMARK.md).
   * The only place a key is kept as sent: in isolate memory only, 10,000 keys at most, for at most a minute
   * after it was hashed; never logged, stored or sent anywhere.
   */
  keyHashes: TtlCache<string, string>;
  records: RecordCache;
  leases: LeaseTable;
  flights: LeaseFlights;
  blocks: BlockTable;
  fallback: FallbackLimiter;
  ledger: UsageLedger;
  flusher: UsageFlusher;
  months: MonthClock;
}

export function createGatewayState(): GatewayState {
  const ledger = new UsageLedger();
  const leases = new LeaseTable(ledger);
  const records = new RecordCache();
  // A change published through this isolate applies here from the next request (keys/record-events.ts).
  listenToRecords({
    keyPublished(hash) {
      records.forgetKey(hash);
      leases.drop(hash, Date.now());
    },
    accountPublished(accountId) {
      records.forgetAccount(accountId);
      leases.dropAccount(accountId, Date.now());
    },
  });
  return {
    keyHashes: new TtlCache(10_000, 60_000),
    records,
    leases,
    flights: new LeaseFlights(leases, ledger),
    blocks: new BlockTable(),
    fallback: new FallbackLimiter(),
    ledger,
    flusher: new UsageFlusher(ledger, leases),
    months: new MonthClock(),
  };
}
