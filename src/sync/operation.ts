/**
 * A job's operation applied to the stored rule set: create/update upsert by id, delete
 * removes by id, full replaces the set from the job, from config_sync.source, or (with
 * neither) keeps the stored set. The result is validated as a whole; a problem is a 489
 * pointing at the job's rule (`rules[2]`), the source's (`source[2]`) or a stored one.
 */

import { isoAt } from "../iso-time.ts";
import type { Services } from "../services.ts";
import type { SyncJob } from "./job.ts";
import type { Rule, RuleIssue } from "./rule.ts";
import { sourceRules } from "./source.ts";
import type { RuleSet } from "./state.ts";
import { checkRuleSet, invalidRules, parseRules } from "./validate.ts";

/** The rule set after the job's operation, validated as a whole. */
export async function nextRuleSet(deps: Services, job: SyncJob, current: RuleSet) {
  const at = isoAt(deps.now());
  let rules: Rule[];
  let jobRules: Rule[] = [];
  const summary: Record<string, unknown> = { operation: job.operation };
  // Every problem of the set goes into one answer: the rules that parse are still checked as a set.
  const issues: RuleIssue[] = [];
  let jobIndex = new Map<string, number>();
  const parse = (raw: unknown[], where: string) => {
    const r = parseRules(raw, (i) => `${where}[${i}]`);
    issues.push(...r.issues);
    jobIndex = r.at;
    return r.rules;
  };
  if (job.operation === "delete") {
    const ids = new Set(job.rule_ids);
    rules = current.rules.filter((r) => !ids.has(r.id));
    const had = new Set(current.rules.map((r) => r.id));
    summary.deleted = [...ids].filter((id) => had.has(id));
    summary.not_found = [...ids].filter((id) => !had.has(id));
  } else if (job.operation === "full") {
    const fromSource = !job.rules && !!deps.config.config_sync.source;
    const sourced = fromSource ? await sourceRules(deps, current.rules.length) : [];
    jobRules = job.rules ? parse(job.rules, "rules") : fromSource ? parse(sourced, "source") : current.rules;
    rules = jobRules;
    summary.from = job.rules ? "job" : fromSource ? "config_sync.source" : "store";
  } else {
    jobRules = parse(job.rules ?? [], "rules");
    const byId = new Map(current.rules.map((r) => [r.id, r] as const));
    for (const r of jobRules) byId.set(r.id, r);
    rules = [...byId.values()];
    summary.upserted = jobRules.map((r) => r.id);
  }
  const where = summary.from === "config_sync.source" ? "source" : "rules";
  issues.push(
    ...checkRuleSet(rules, deps.config.config_sync.targets, (id) =>
      jobIndex.has(id) && summary.from !== "store" ? `${where}[${jobIndex.get(id)}]` : `stored rule "${id}"`,
    ),
  );
  if (issues.length) throw invalidRules(issues);
  const orphans = orphanedReaders(current.rules, rules);
  if (orphans.length) summary.warnings = orphans;
  return { set: { rules, updated_at: at } satisfies RuleSet, summary };
}

/**
 * Rules of the new set that read a series a recording rule of the old set recorded and the new
 * set no longer does: done as asked, but said (an alert on it can never fire again).
 */
function orphanedReaders(before: readonly Rule[], after: readonly Rule[]): string[] {
  const recorded = (rules: readonly Rule[]) =>
    new Set(rules.filter((r) => r.kind === "recording" && r.enabled).map((r) => r.name));
  const kept = recorded(after);
  const gone = new Set([...recorded(before)].filter((name) => !kept.has(name)));
  if (!gone.size) return [];
  const out: string[] = [];
  for (const r of after) {
    if (!r.enabled) continue;
    // The expression's names, once each; label values left out (`job="job:up:sum"` reads nothing)
    // but a metric named by `__name__`.
    const expr = r.expr.replace(/(__name__\s*=\s*)?"(?:\\.|[^"\\])*"/g, (m, named) => (named ? m : '""'));
    for (const name of new Set(expr.match(/[A-Za-z_:][\w:]*/g)))
      if (gone.has(name))
        out.push(
          `rule "${r.id}" (${r.name}) reads ${name}, which this sync removed: it can no longer ${r.kind === "alerting" ? "fire" : "record"}`,
        );
  }
  return out;
}
