/**
 * Deps: everything a handler or domain module may use, built once at the edge (an entry or
 * a test) and passed in. Nothing inward reads env, globals or the runtime.
 */
import type { Config, Family } from "./config/schema.ts";
import type { ConcurrencyGate } from "./jobs/gate.ts";
import type { Fetch, FileAccess, RuntimeName, TcpConnect } from "./ports.ts";
import type { SignatureVerifier } from "./qstash/verify.ts";
import type { Ledger } from "./store/ledger.ts";
import type { Store } from "./store/store.ts";
import type { Logger } from "./telemetry/logger.ts";
import type { Metrics } from "./telemetry/metrics.ts";

export interface Deps {
  config: Config;
  store: Store;
  ledger: Ledger;
  verifier: SignatureVerifier;
  gate: ConcurrencyGate;
  metrics: Metrics;
  logger: Logger;
  fetch: Fetch;
  now: () => number;
  version: string;
  runtime: RuntimeName;
  startedAt: number;
  /** Families whose routes are mounted (from worker.families, or worker.type). */
  families: readonly Family[];
  /** Runs work after the response where the runtime allows (Workers: ctx.waitUntil). */
  background?: (p: Promise<unknown>) => void;
  /** Files, where the runtime has them (the Bun and Deno entries). */
  fs?: FileAccess;
  /** Outbound TCP (SMTP); absent where the runtime has none, and email channels are refused. */
  tcp?: TcpConnect;
}

/** Families mounted for each worker type (README, "Command line"); failure callbacks are taken by every type. */
export const FAMILIES_BY_TYPE: Record<Config["worker"]["type"], readonly Family[]> = {
  general: ["analysis", "notification", "config-sync", "failure", "autoscale"],
  "ai-analysis": ["analysis", "failure"],
  notification: ["notification", "failure"],
  "config-sync": ["config-sync", "failure"],
};

/** `worker.families` (what `-queues=` sets) names the job families; failure callbacks come with any of them. */
export function mountedFamilies(config: Config): readonly Family[] {
  const named = config.worker.families;
  if (!named) return FAMILIES_BY_TYPE[config.worker.type];
  return named.includes("failure") ? named : [...named, "failure"];
}
