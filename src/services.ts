/**
 * What every domain room (analysis, notify, sync, scale) may use: the configuration, the store
 * and its ledger, telemetry and the platform ports. The job runtime's `Deps` (src/jobs/deps.ts)
 * is a superset built once by `buildDeps`; domain code names only this, so it never depends on
 * the rooms above it (docs/architecture.md).
 */
import type { Config } from "./config/schema.ts";
import type { Fetch, FileAccess, RuntimeName, TcpConnect } from "./ports.ts";
import type { Ledger } from "./store/ledger.ts";
import type { Store } from "./store/store.ts";
import type { Logger } from "./telemetry/logger.ts";
import type { Metrics } from "./telemetry/metrics.ts";

export interface Services {
  config: Config;
  store: Store;
  /** Job entries and the steps inside one message (a channel's send, an alert's analysis). */
  ledger: Ledger;
  metrics: Metrics;
  logger: Logger;
  fetch: Fetch;
  now: () => number;
  runtime: RuntimeName;
  /** Files, where the runtime has them (the Bun and Deno entries). */
  fs?: FileAccess;
  /** Outbound TCP (SMTP); absent where the runtime has none, and email channels are refused. */
  tcp?: TcpConnect;
  /** Runs work after the response where the runtime allows (Workers: ctx.waitUntil). */
  background?: (p: Promise<unknown>) => void;
}
