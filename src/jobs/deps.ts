/**
 * Deps: what the job runtime, the handlers and the HTTP surface use — the domain's `Services`
 * plus the signature check, the gate and the worker's identity — built once at the edge
 * (`buildDeps`, src/wire.ts) and passed in. Nothing inward reads env, globals or the runtime.
 */
import type { Analyst } from "../analysis/analyst.ts";
import type { Family } from "../config/schema.ts";
import type { Notifier } from "../notify/notifier.ts";
import type { SignatureVerifier } from "../qstash/verify.ts";
import type { Services } from "../services.ts";
import type { ConcurrencyGate } from "./gate.ts";

export interface Deps extends Services {
  verifier: SignatureVerifier;
  gate: ConcurrencyGate;
  version: string;
  startedAt: number;
  /** Families whose routes are mounted (from worker.families, or worker.type). */
  families: readonly Family[];
  /** The analysis services (engines, breakers, similar-alert index), built on first use. */
  readonly analyst: Analyst;
  /** The channels, templates, rate limiter and records, built on first use (createApp builds it
   * at start-up where notifications are mounted, so a bad channel refuses the worker). */
  readonly notifier: Notifier;
}
