import { inject } from "vitest";

/** What the global setup started, handed to every test file (see global-setup.ts). */
export interface ReliabilityEnvironment {
  /** This run's folder under .cache/: gateway logs and the ledger files. */
  runDir: string;
  /** Gateways as real `wrangler dev` processes sharing one stack. */
  gateways: {
    /** RATE_LIMIT_FAIL_MODE=open (the default). */
    a: string;
    /** A second process with a's settings: two edges sharing one Redis. */
    b: string;
    /** RATE_LIMIT_FAIL_MODE=closed. */
    closed: string;
    /** Two processes with a 5 s RATE_LIMIT_TIMEOUT_MS (the most the config allows), for measuring the limiter's exactness under bursts. */
    patient: [string, string];
    /**
     * a's settings, in a process the suite SIGKILLs and restarts on the same address (killService /
     * startService("killable")): what an isolate held in memory is gone, as after a deploy or an eviction.
     */
    killable: string;
  };
  adminToken: string;
  /** Every secret a gateway was given, by binding name: none may ever appear in a log or a response. */
  secrets: Record<string, string>;
  bridge: { url: string; token: string };
  redisUrl: string;
  databaseUrl: string;
  /** The fault-injection and origin-records endpoint of the global setup. */
  control: { url: string; token: string };
  /** The recording origin every gateway proxies to (ORIGIN_URL). */
  origin: { url: string; host: string };
  /** A listener nothing may ever reach: fuzzed paths name it as a host to lure the proxy there. */
  decoyPort: number;
  settings: { originTimeoutMs: number; maxBodyBytes: number; rateLimitTimeoutMs: number };
  /** Mail: the Resend stand-in (its log is mail-standin.log in runDir, scanned like the gateways'). */
  mail: { url: string };
  /** Billing: the local Stripe the gateways re-read customers and subscriptions from. */
  stripe: { url: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    reliability: ReliabilityEnvironment;
  }
}

export const env: ReliabilityEnvironment = inject("reliability");
