/**
 * The vmalert rule file (docs/contracts.md#vmalert): the Prometheus format, plus vmalert's group fields
 * (`type`, `eval_offset`, `limit`, `concurrency`) only on groups whose rules set them, and the
 * group options vmalert knows (`interval`, `limit`; it has no `query_offset`, which is reported). A
 * target's `omit_fields` leaves out what an older vmalert refuses (Debian 12's 1.79 knows
 * neither `keep_firing_for` nor `eval_offset`); what was left out is reported, not hidden.
 */
import { groupOptions, groupRules, promRule, type RuleFile, summarize } from "./prometheus.ts";
import type { Rule } from "./rule.ts";
import { toYaml } from "./yaml.ts";

const GROUP_FIELDS = ["type", "eval_offset", "limit", "concurrency"] as const;

export function renderVmalert(rules: readonly Rule[], omit: readonly string[] = []): RuleFile {
  const dropped = new Map<string, string[]>();
  const drop = (field: string, id: string) => dropped.set(field, [...(dropped.get(field) ?? []), id]);
  const keepFiring = !omit.includes("keep_firing_for");
  const grouped = groupRules(rules);
  const groups = grouped.map(([name, list]) => {
    const { query_offset, ...options } = groupOptions(list);
    if (query_offset !== undefined)
      for (const r of list) if (r.group_options?.query_offset !== undefined) drop("query_offset", r.id);
    // What the target's omit_fields names is left out here too (and reported).
    for (const f of Object.keys(options))
      if (omit.includes(f)) {
        delete options[f];
        for (const r of list) if (r.group_options && f in r.group_options) drop(f, r.id);
      }
    const group: Record<string, unknown> = { name, ...options };
    for (const r of list) {
      if (!keepFiring && r.keep_firing_for) drop("keep_firing_for", r.id);
      for (const f of GROUP_FIELDS) {
        const v = r.vmalert?.[f];
        if (v === undefined) continue;
        if (omit.includes(f)) drop(f, r.id);
        else group[f] = v;
      }
    }
    group.rules = list.map((r) => promRule(r, keepFiring));
    return group;
  });
  return {
    groups,
    summary: grouped.map(([n, l]) => summarize(n, l)),
    yaml: toYaml({ groups }),
    omitted: [...dropped].map(([f, ids]) => `${f} (${ids.join(", ")})`),
  };
}
