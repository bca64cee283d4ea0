/**
 * Rule validation as a job sees it: each rule against the schema (rule.ts), then the set as
 * a whole — unique ids, no two alerts a group cannot tell apart, vmalert group fields that
 * agree, known targets, Alertmanager routes that do not shadow each other. Every problem
 * names the rule id, its JSON path and the field; any problem makes the job a 489.
 */
import { formatPath, type JobError, permanent } from "../errors.ts";
import {
  PROMETHEUS_TEMPLATE_FUNCS,
  PROMETHEUS_TEMPLATE_VARS,
  undefinedVars,
  unknownTemplateFuncs,
  VMALERT_TEMPLATE_FUNCS,
  VMALERT_TEMPLATE_VARS,
} from "./checks.ts";
import { promqlSyntaxError } from "./promql.ts";
import { selectRules, type TargetConfig } from "./render.ts";
import { type Rule, type RuleIssue, ruleSchema } from "./rule.ts";

/** Names that stay dot segments once encoded: a Mimir ruler URL with one addresses another path. */
export const MIMIR_UNSAFE_SEGMENTS = [".", ".."];

/** Parses raw rules; `pathOf(i)` is where rule i sits in the job (`rules[i]`). */
export function parseRules(
  raw: readonly unknown[],
  pathOf: (i: number) => string = (i) => `rules[${i}]`,
): { rules: Rule[]; issues: RuleIssue[]; at: Map<string, number> } {
  const rules: Rule[] = [];
  const issues: RuleIssue[] = [];
  /** Where each parsed rule sits in `raw`, by id (rules that did not parse shift the rest). */
  const at = new Map<string, number>();
  raw.forEach((item, i) => {
    const r = ruleSchema.safeParse(item);
    if (r.success) {
      rules.push(r.data);
      at.set(r.data.id, i);
      return;
    }
    const id = idOf(item);
    for (const issue of r.error.issues) {
      const field = issue.path.length ? formatPath(issue.path) : "(rule)";
      issues.push({
        rule_id: id,
        path: `${pathOf(i)}${issue.path.length ? `.${field}` : ""}`,
        field,
        message: issue.message,
      });
    }
  });
  return { rules, issues, at };
}

function idOf(item: unknown): string | null {
  const id = (item as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? String(id) : null;
}

/**
 * Problems of the rule set as a whole. `pathOf(id)` says where a rule came from (the job, or
 * the stored set), so the answer points at something the sender can fix.
 */
export function checkRuleSet(
  rules: readonly Rule[],
  targets: Readonly<Record<string, TargetConfig>>,
  pathOf: (id: string) => string,
): RuleIssue[] {
  const targetNames = Object.keys(targets);
  const issues: RuleIssue[] = [];
  const add = (r: Rule, field: string, message: string) =>
    issues.push({ rule_id: r.id, path: `${pathOf(r.id)}.${field}`, field, message });

  const ids = new Map<string, Rule>();
  const alerts = new Map<string, Rule>();
  const vmFields = new Map<string, Rule>();
  const routes = new Map<string, Rule>();
  for (const r of rules) {
    if (ids.has(r.id)) add(r, "id", `rule id "${r.id}" appears twice in the set`);
    ids.set(r.id, r);
    // The same rule twice in a group: same kind, name, severity, labels and expression. Prometheus
    // accepts the rest: different labels (KubeAPIErrorBudgetBurn long/short) or expressions
    // (kube-prometheus' code_verb recording rules split by status code) are different series.
    const alertKey = JSON.stringify([
      r.group,
      r.kind,
      r.name,
      r.severity,
      Object.entries(r.labels).sort(),
      r.expr,
    ]);
    const twin = alerts.get(alertKey);
    if (twin && twin.id !== r.id)
      add(
        r,
        r.kind === "recording" ? "record" : "name",
        `duplicate ${r.kind === "recording" ? "recording rule" : "alert"} "${r.name}"${r.severity ? ` (severity ${r.severity})` : ""} in group "${r.group}": rule "${twin.id}" has it already`,
      );
    else alerts.set(alertKey, r);
    for (const [i, t] of (r.targets ?? []).entries())
      if (!targetNames.includes(t))
        add(r, `targets[${i}]`, `unknown target "${t}" (configured: ${targetNames.join(", ") || "none"})`);
    // What a target's API cannot carry: a Mimir group name is a path segment of the ruler API.
    for (const t of r.targets ?? targetNames)
      if (targets[t]?.delivery.type === "mimir" && MIMIR_UNSAFE_SEGMENTS.includes(r.group))
        add(r, "group", `group "${r.group}" cannot be a path segment of Mimir's ruler API (target "${t}")`);
    // PromQL where a Prometheus will load it; vmalert's own rules may be MetricsQL, a superset.
    const prometheus = (r.targets ?? targetNames).find(
      (t) => targets[t]?.kind === "prometheus" && selectRules(t, targets[t], [r]).includes(r),
    );
    const notPromql = prometheus && promqlSyntaxError(r.expr);
    if (notPromql) add(r, "expr", `${notPromql}; Prometheus target "${prometheus}" would refuse it`);
    // A template function the peer lacks fails the whole file at load: each peer has its own list.
    const vmalert = (r.targets ?? targetNames).find(
      (t) => targets[t]?.kind === "vmalert" && selectRules(t, targets[t], [r]).includes(r),
    );
    const peers = [
      ...(prometheus
        ? [
            {
              name: "Prometheus",
              target: prometheus,
              known: PROMETHEUS_TEMPLATE_FUNCS,
              vars: PROMETHEUS_TEMPLATE_VARS,
            },
          ]
        : []),
      ...(vmalert
        ? [{ name: "vmalert", target: vmalert, known: VMALERT_TEMPLATE_FUNCS, vars: VMALERT_TEMPLATE_VARS }]
        : []),
    ];
    if (r.kind === "alerting")
      for (const [section, map] of [
        ["labels", r.labels],
        ["annotations", r.annotations],
      ] as const)
        for (const [k, v] of Object.entries(map))
          for (const peer of peers) {
            const unknown = unknownTemplateFuncs(v, peer.known);
            const vars = undefinedVars(v, peer.vars);
            if (!unknown.length && !vars.length) continue;
            const what = [
              ...(unknown.length ? [`calls ${unknown.map((f) => `"${f}"`).join(", ")}`] : []),
              ...(vars.length ? [`uses ${vars.map((n) => `$${n}`).join(", ")}`] : []),
            ].join(" and ");
            add(
              r,
              `${section}.${k}`,
              `${what}, which ${peer.name}'s templates do not define; ${peer.name} target "${peer.target}" would refuse the rule file`,
            );
            break;
          }
    // vmalert's extras and the group options are group fields: the rules of one group must not disagree.
    for (const section of ["vmalert", "group_options"] as const)
      for (const [k, v] of Object.entries(r[section] ?? {})) {
        if (v === undefined) continue;
        const key = JSON.stringify([r.group, section, k]);
        const other = vmFields.get(key);
        const theirs = (other?.[section] as Record<string, unknown> | undefined)?.[k];
        if (other && theirs !== v)
          add(
            r,
            `${section}.${k}`,
            `group "${r.group}" gets ${section}.${k} ${JSON.stringify(theirs)} from rule "${other.id}" but ${JSON.stringify(v)} from this rule`,
          );
        else vmFields.set(key, r);
      }
    if (r.notify && r.enabled) {
      const key = JSON.stringify([r.name, r.severity, Object.entries(r.labels).sort()]);
      const other = routes.get(key);
      if (other && JSON.stringify(notifyKey(other)) !== JSON.stringify(notifyKey(r)))
        add(
          r,
          "notify",
          `rule "${other.id}" matches the same alerts (name, severity, labels) but notifies differently; Alertmanager would only use the first route`,
        );
      else routes.set(key, r);
    }
  }
  return issues;
}

function notifyKey(r: Rule): unknown {
  const n = r.notify;
  return n ? { ...n, channels: [...n.channels].sort() } : null;
}

/** The 489 for invalid rules: the first problem in the message, all of them in details. */
export function invalidRules(issues: readonly RuleIssue[]): JobError {
  const first = issues[0];
  const who = first.rule_id ? `rule "${first.rule_id}"` : first.path;
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
  return permanent("invalid_rule", `${who}: ${first.field}: ${first.message}${more}`, issues);
}
