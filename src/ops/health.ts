/**
 * Health and readiness (README, "Operations"): what is checked and what the answers say.
 */
import type { EngineCheck } from "../analysis/health.ts";
import type { Deps } from "../jobs/deps.ts";
import { STORE_PROBE_MS } from "../store/store.ts";
import type { Check } from "../telemetry/check.ts";
import { within } from "../within.ts";

export async function checkStore(deps: Deps): Promise<Check> {
  const t = deps.now();
  try {
    const answered = await within(
      deps.store.ping().then(() => true),
      STORE_PROBE_MS,
      false,
    );
    if (!answered) throw new Error(`no answer in ${STORE_PROBE_MS} ms`);
    return { ok: true, detail: deps.store.kind, ms: deps.now() - t };
  } catch (e) {
    return { ok: false, detail: `${deps.store.kind} store: ${(e as Error).message}`, ms: deps.now() - t };
  }
}

export async function readiness(deps: Deps): Promise<{ ready: boolean; checks: Record<string, Check> }> {
  const keys = deps.config.qstash.current_signing_key && deps.config.qstash.next_signing_key;
  const checks: Record<string, Check> = {
    config: { ok: true },
    signing_keys: keys
      ? { ok: true }
      : { ok: false, detail: "qstash.current_signing_key and next_signing_key are required" },
    store: await checkStore(deps),
  };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

/** Analysis engines' readiness and breaker state, for /health and the dashboard (kept 15 s by the analyst). */
export function engineChecks(deps: Deps): Promise<Record<string, EngineCheck>> {
  return deps.families.includes("analysis") ? deps.analyst.checks() : Promise.resolve({});
}
