/**
 * The worker's own alert rules (`alertagent-worker self-rules`) as rules of the config-sync
 * model, so a Prometheus or vmalert target with `self_rules: true` gets them with everything
 * else — hashed, delivered, verified — in their own `alertagent-worker` group.
 */
import { selfRules } from "../telemetry/self-rules.ts";
import { type Rule, ruleSchema } from "./rule.ts";

const cached = new Map<string | undefined, Rule[]>();

/** The self-rules for a worker scraped under `job` (default alertagent-worker). */
export function selfRuleModels(job?: string): Rule[] {
  const known = cached.get(job);
  if (known) return known;
  const rules = selfRules({ job }).groups.flatMap((g) =>
    g.rules.map((r) => {
      const { severity, ...labels } = r.labels;
      return ruleSchema.parse({
        id: `alertagent-self-${r.alert}`,
        name: r.alert,
        group: g.name,
        expr: r.expr,
        ...("for" in r && r.for ? { for: r.for } : {}),
        severity,
        labels,
        annotations: r.annotations,
      });
    }),
  );
  cached.set(job, rules);
  return rules;
}
