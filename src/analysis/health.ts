/**
 * Engine health for /health and the dashboard: each engine of ai.order that is configured, its
 * readiness (Dify `GET /info` per app, Ollama `/api/tags`, the built-in engine always) under a
 * short deadline, and its circuit breaker's state. Sets alertagent_engine_up from the probes.
 */
import type { Services } from "../services.ts";
import { STORE_PROBE_MS } from "../store/store.ts";
import type { Check } from "../telemetry/check.ts";
import { within } from "../within.ts";
import type { Breakers } from "./breaker.ts";
import type { Engine, EngineId } from "./engine.ts";
import { timeoutOf } from "./engine.ts";
import type { EngineName } from "./schema.ts";

export interface EngineHealth {
  engine: EngineId;
  /** The names it answers under (dify-workflow, dify-chat, ollama, builtin). */
  names: EngineName[];
  ready: Check;
  /** "closed", "open until <time>", "half-open", or "none" (the built-in engine). */
  breaker: string;
}

const TYPES = ["comprehensive", "quick", "root_cause"] as const;
const PROBE_MS = 5000;

export interface EngineCheck extends Check {
  breaker: string;
  /** The names jobs and metrics know it by (dify-chat, dify-workflow, …). */
  names: EngineName[];
}

export async function engineHealth(
  deps: Services,
  { engines: all, breakers }: { engines: Record<EngineId, Engine>; breakers: Breakers },
): Promise<EngineHealth[]> {
  const configured = deps.config.ai.order.flatMap((id): { engine: Engine; names: EngineName[] }[] => {
    const names = [...new Set(TYPES.flatMap((t) => all[id].nameFor(t) ?? []))];
    return names.length ? [{ engine: all[id], names }] : [];
  });
  const ids = configured.map((e) => e.engine.id);
  // The breakers live in the store: a slow store must not hold /health past the store check's bound.
  const states: Record<string, string> = await within(
    breakers.describe(ids).catch(() => ({})),
    STORE_PROBE_MS,
    {},
  );
  return Promise.all(
    configured.map(async ({ engine, names }) => {
      const ready = await engine.ready(AbortSignal.timeout(Math.min(PROBE_MS, timeoutOf(deps, engine.id))));
      for (const name of names) deps.metrics.set("engineUp", { engine: name }, ready.ok ? 1 : 0);
      return {
        engine: engine.id,
        names,
        ready,
        breaker:
          engine.id === "builtin" ? "none" : (states[engine.id] ?? "unknown (the store did not answer)"),
      };
    }),
  );
}
