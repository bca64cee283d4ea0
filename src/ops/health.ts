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
    const warnings = await within(hazardsOf(deps), STORE_PROBE_MS, []);
    return {
      ok: true,
      detail: deps.store.kind,
      ms: deps.now() - t,
      ...(warnings.length ? { warnings } : {}),
    };
  } catch (e) {
    return { ok: false, detail: `${deps.store.kind} store: ${(e as Error).message}`, ms: deps.now() - t };
  }
}

const asked = new WeakMap<Deps["store"], { at: number; found: Promise<string[]> }>();

/**
 * The hazards serve logs at start (an eviction policy, no persistence), where a probe sees them.
 * Asked of the store at most once a minute: a probe comes every few seconds, and on Upstash each
 * question is a billed command.
 */
function hazardsOf(deps: Deps): Promise<string[]> {
  const last = asked.get(deps.store);
  if (last && deps.now() - last.at < 60_000) return last.found;
  const found = deps.store.hazards?.().catch(() => []) ?? Promise.resolve([]);
  asked.set(deps.store, { at: deps.now(), found });
  return found;
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
