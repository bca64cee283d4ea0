/**
 * Planning: render each target from a rule set, hash it, and compare with what the target
 * last got — changed or not, and the unified diff. The job (dry_run or not), GET
 * /v1/sync/plan and `alertagent-worker plan` all plan this way; planning has no side effects.
 */

import { notFound, permanent } from "../errors.ts";
import type { Services } from "../services.ts";
import { stillHolds } from "./delivery.ts";
import { unifiedDiff } from "./diff.ts";
import { sha256 } from "./hash.ts";
import { type Rendered, renderTarget, type TargetConfig } from "./render.ts";
import type { Rule } from "./rule.ts";
import { sourceRules } from "./source.ts";
import { emptyState, loadRuleSet, loadStates, type TargetState } from "./state.ts";
import { checkRuleSet, invalidRules, parseRules } from "./validate.ts";

export interface TargetPlan {
  name: string;
  target: TargetConfig;
  rendered: Rendered;
  state: TargetState;
  changed: boolean;
  /**
   * A full sync found the file no longer holding its unchanged rendering (edited or removed by
   * hand; its header says edits are overwritten): it counts as changed and is written again.
   */
  drifted: boolean;
  /**
   * The config now sends the target elsewhere (another path, URL, namespace or read-back) than it
   * was last delivered to: it counts as changed and is delivered there, its rendering changed or not.
   */
  moved: boolean;
  /** Where the config sends the target, as a hash (no URL credentials kept): state.destination once applied. */
  destination: string;
  /** Unified diff from the last applied rendering to this one ("" when unchanged). */
  diff: string;
}

/**
 * The configured targets to sync, all of them by default. An unknown name is the sender's
 * mistake: 489 in a job, 404 on the plan route (`missing` picks which).
 */
export function pickTargets(
  deps: Services,
  names: readonly string[] | undefined,
  missing: "job" | "route" = "job",
): string[] {
  const all = Object.keys(deps.config.config_sync.targets).sort();
  if (!names) {
    if (!all.length)
      throw permanent("no_targets", "config_sync.targets is empty: there is nothing to sync to");
    return all;
  }
  for (const n of names) {
    if (all.includes(n)) continue;
    if (missing === "route") throw notFound(`config_sync target "${n}"`);
    throw permanent(
      "unknown_target",
      `unknown config_sync target "${n}" (configured: ${all.join(", ") || "none"})`,
      [{ path: `targets[${names.indexOf(n)}]`, message: `unknown target "${n}"` }],
    );
  }
  return [...new Set(names)];
}

export async function planTargets(
  deps: Services,
  rules: readonly Rule[],
  names: readonly string[],
  /** The targets' states, when the caller read them already (a sync, with its lock). */
  read?: readonly (TargetState | null)[],
  /** A full sync's plan: a file target whose rendering did not change is read for drift. */
  full = false,
): Promise<TargetPlan[]> {
  const states = read ?? (await loadStates(deps.store, names));
  return Promise.all(
    names.map(async (name, i) => {
      const target = deps.config.config_sync.targets[name];
      const rendered = await renderTarget(name, target, rules, deps.config);
      const state = states[i] ?? emptyState(name, target.kind, target.delivery.type);
      const destination = await destinationOf(target);
      const same = rendered.hash === state.hash;
      // A state recorded before destinations were (no `destination`) is taken as delivered here.
      const moved = !!state.hash && (state.destination ?? destination) !== destination;
      const drifted = full && same && !moved && !(await stillHolds(deps, target, rendered));
      const changed = drifted || moved || !same;
      const from = state.hash ? `${name} v${state.version}` : `${name} (nothing applied yet)`;
      const elsewhere = moved
        ? `the config sends ${name} elsewhere than v${state.version} was delivered to: it is delivered there${same ? " again" : ""}\n`
        : "";
      const diff = drifted
        ? `the file no longer holds ${name} v${state.version}: it is written again\n`
        : `${elsewhere}${same ? "" : unifiedDiff(state.content, rendered.display, from, `${name} v${state.version + 1} (planned)`)}`;
      return { name, target, rendered, state, changed, drifted, moved, destination, diff };
    }),
  );
}

/** Where a target is delivered and read back, hashed: its headers (a rotated token) are not a move. */
async function destinationOf(target: TargetConfig): Promise<string> {
  const { headers: _, ...where } = target.delivery as TargetConfig["delivery"] & { headers?: unknown };
  return (await sha256(JSON.stringify([target.kind, where, target.verify.url ?? null]))).slice(0, 23);
}

/**
 * The rule set a full sync would apply now: config_sync.source when set, else the stored
 * set. Source rules are validated like a job's.
 */
export async function desiredRules(
  deps: Services,
): Promise<{ rules: Rule[]; from: "config_sync.source" | "store" }> {
  const stored = (await loadRuleSet(deps.store)).rules;
  if (!deps.config.config_sync.source) return { rules: stored, from: "store" };
  const raw = await sourceRules(deps, stored.length);
  const { rules, issues } = parseRules(raw, (i) => `source[${i}]`);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  issues.push(...checkRuleSet(rules, deps.config.config_sync.targets, (id) => `source[${index.get(id)}]`));
  if (issues.length) throw invalidRules(issues);
  return { rules, from: "config_sync.source" };
}

/**
 * What a full sync would change now, per target (GET /v1/sync/plan, `alertagent-worker plan`).
 * `readFiles`: file targets are read for drift too — by the serving worker, which writes them;
 * not by the CLI, which may run where they are not (every one would read as removed).
 */
export async function planFullSync(deps: Services, target?: string, readFiles = false) {
  const names = pickTargets(deps, target ? [target] : undefined, "route");
  const { rules, from } = await desiredRules(deps);
  const plans = await planTargets(deps, rules, names, undefined, readFiles);
  return { from, rules: rules.length, targets: plans.map(planView) };
}

/** A plan as the API shows it. */
export function planView(p: TargetPlan) {
  return {
    target: p.name,
    kind: p.target.kind,
    delivery: p.target.delivery.type,
    changed: p.changed,
    ...(p.drifted ? { drifted: true } : {}),
    ...(p.moved ? { moved: true } : {}),
    version: p.state.version,
    ...(p.changed ? { planned_version: p.state.version + 1 } : {}),
    hash: p.rendered.hash,
    applied_hash: p.state.hash,
    rules: p.rendered.rules,
    ...(p.rendered.omitted.length ? { omitted: p.rendered.omitted } : {}),
    diff: p.diff,
  };
}
