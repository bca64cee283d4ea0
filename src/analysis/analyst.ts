/**
 * A worker's analysis services, built once by `buildDeps` (src/wire.ts): the engines, their
 * circuit breakers, the similar-alert index, and the engines' health for /health and the
 * dashboard (probing Dify and Ollama takes network calls, so it is kept for 15 s).
 */
import type { Services } from "../services.ts";
import { Breakers } from "./breaker.ts";
import { builtinEngine } from "./builtin.ts";
import { difyEngine } from "./dify.ts";
import type { Engine, EngineId } from "./engine.ts";
import { type EngineCheck, engineHealth } from "./health.ts";
import { ollamaEngine } from "./ollama.ts";
import { SimilarityIndex } from "./similar/index.ts";

export interface Analyst {
  engines: Record<EngineId, Engine>;
  breakers: Breakers;
  index: SimilarityIndex;
  /** Each configured engine's readiness and breaker state, kept for 15 s. */
  checks(): Promise<Record<string, EngineCheck>>;
  /** The expression of the alerting rule named so in the rule set config sync holds, if any. */
  ruleExpr(alertname: string): Promise<string | undefined>;
}

/** What the analysis functions use: the domain's services and the worker's analyst. */
export interface AnalysisServices extends Services {
  analyst: Analyst;
}

const CHECKS_KEPT_MS = 15_000;

/** `ruleExpr` is given by buildDeps (src/wire.ts): the rule set is config sync's, a sibling room. */
export function buildAnalyst(s: Services, ruleExpr: Analyst["ruleExpr"] = async () => undefined): Analyst {
  const b = s.config.ai.breaker;
  const engines = { dify: difyEngine(s), ollama: ollamaEngine(s), builtin: builtinEngine(s) };
  const breakers = new Breakers(s.store, { failures: b.failures, cooloffMs: b.cooloff, now: s.now });
  let kept: { at: number; value: Promise<Record<string, EngineCheck>> } | undefined;
  return {
    engines,
    breakers,
    index: new SimilarityIndex(s.store, {
      maxAlerts: s.config.ai.similar.max_alerts,
      retentionMs: s.config.store.retention,
      now: s.now,
    }),
    ruleExpr,
    checks() {
      if (kept && s.now() - kept.at < CHECKS_KEPT_MS) return kept.value;
      const value = engineHealth(s, { engines, breakers }).then(
        // An engine whose breaker is open is skipped by every job: down, whatever its probe says.
        (list) =>
          Object.fromEntries(
            list.map((e) => [
              e.engine,
              e.breaker.startsWith("open")
                ? {
                    ok: false,
                    detail: `skipped by every job: its breaker is ${e.breaker}`,
                    breaker: e.breaker,
                    names: e.names,
                  }
                : { ...e.ready, breaker: e.breaker, names: e.names },
            ]),
          ),
        // Breaker states live in the store: with the store down, /health reports that (down), not a crash here.
        () => {
          kept = undefined;
          return {};
        },
      );
      kept = { at: s.now(), value };
      return value;
    },
  };
}
