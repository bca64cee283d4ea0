/**
 * The Prometheus rule file (docs/contracts.md#prometheus): `groups: [{name, interval, limit,
 * query_offset, rules: [{alert, expr, for, keep_firing_for, labels, annotations} | {record, expr,
 * labels}]}]`, groups sorted by name and rules by name, severity and id, so the same set always
 * gives the same bytes. vmalert.ts builds on it.
 */

import { parsePromDuration } from "./checks.ts";
import type { Rule } from "./rule.ts";
import { toYaml } from "./yaml.ts";

/** What a peer should list for one rule once it loaded the file (checked by verify.ts). */
export interface RuleSummary {
  name: string;
  /** The expression as sent (vmalert's read-back shows it so; Prometheus prints its own form). */
  expr: string;
  for_s: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface GroupSummary {
  name: string;
  rules: RuleSummary[];
}

export interface RuleFile {
  /** The groups as plain data, in file order (mimir.ts posts them one by one). */
  groups: Record<string, unknown>[];
  summary: GroupSummary[];
  /** Canonical YAML of the whole file, without a header. */
  yaml: string;
  /** "field (rule id, …)" for each field the target's omit_fields dropped. */
  omitted: string[];
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The rules of each group, groups and rules in canonical order. */
export function groupRules(rules: readonly Rule[]): [string, Rule[]][] {
  const groups = new Map<string, Rule[]>();
  for (const r of rules) {
    const g = groups.get(r.group);
    if (g) g.push(r);
    else groups.set(r.group, [r]);
  }
  for (const list of groups.values())
    list.sort(
      (a, b) =>
        byCodeUnit(a.name, b.name) ||
        byCodeUnit(a.severity ?? "", b.severity ?? "") ||
        byCodeUnit(a.id, b.id),
    );
  return [...groups.entries()].sort((a, b) => byCodeUnit(a[0], b[0]));
}

/** A rule's labels as the peer shows them: an alerting rule's severity is one of them. */
export function labelsOf(r: Rule): Record<string, string> {
  return r.severity === undefined ? r.labels : { ...r.labels, severity: r.severity };
}

/** One rule as Prometheus reads it; `keepFiring` false leaves keep_firing_for out. */
export function promRule(r: Rule, keepFiring = true): Record<string, unknown> {
  if (r.kind === "recording")
    return { record: r.name, expr: r.expr, labels: Object.keys(r.labels).length ? r.labels : undefined };
  return {
    alert: r.name,
    expr: r.expr,
    for: r.for,
    keep_firing_for: keepFiring ? r.keep_firing_for : undefined,
    labels: labelsOf(r),
    annotations: Object.keys(r.annotations).length ? r.annotations : undefined,
  };
}

/** A group's own fields from its rules' `group_options` (validate.ts makes them agree). */
export function groupOptions(list: readonly Rule[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of list)
    for (const [k, v] of Object.entries(r.group_options ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

export function summarize(name: string, rules: readonly Rule[]): GroupSummary {
  return {
    name,
    rules: rules.map((r) => ({
      name: r.name,
      expr: r.expr,
      for_s: durationSeconds(r.for),
      labels: labelsOf(r),
      annotations: r.annotations,
    })),
  };
}

function durationSeconds(d: string | undefined): number {
  return (d ? (parsePromDuration(d) ?? 0) : 0) / 1000;
}

/**
 * The rule file; `omit` may name fields an older Prometheus refuses (keep_firing_for before
 * 2.42, query_offset before 2.53); what was left out is reported.
 */
export function renderPrometheus(rules: readonly Rule[], omit: readonly string[] = []): RuleFile {
  const keepFiring = !omit.includes("keep_firing_for");
  const dropped = new Map<string, string[]>();
  const drop = (field: string, ids: string[]) =>
    ids.length && dropped.set(field, [...(dropped.get(field) ?? []), ...ids]);
  const grouped = groupRules(rules);
  const groups = grouped.map(([name, list]) => {
    const options = groupOptions(list);
    for (const f of Object.keys(options))
      if (omit.includes(f)) {
        delete options[f];
        drop(
          f,
          list.filter((r) => r.group_options && f in r.group_options).map((r) => r.id),
        );
      }
    return { name, ...options, rules: list.map((r) => promRule(r, keepFiring)) };
  });
  if (!keepFiring)
    drop(
      "keep_firing_for",
      rules.filter((r) => r.keep_firing_for).map((r) => r.id),
    );
  return {
    groups,
    summary: grouped.map(([n, l]) => summarize(n, l)),
    yaml: toYaml({ groups }),
    omitted: [...dropped].map(([f, ids]) => `${f} (${ids.join(", ")})`),
  };
}
