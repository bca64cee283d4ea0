/**
 * `plan [--target NAME]` (README, "Command line"): what a full config sync would change now — per target a
 * summary line and the unified diff against what was last applied — with no side effects.
 * The rule set comes from config_sync.source, else from the store; a memory store in a
 * fresh process knows no rule set and nothing applied, so that case says so per target (exit 0).
 * Neither does a SQLite file not made yet, which plan leaves unmade (a later serve's first start
 * is still the one that creates it).
 */
import type { Config } from "../config/schema.ts";
import { JobError } from "../errors.ts";
import { storeKindOf } from "../store/create.ts";
import { planFullSync } from "../sync/plan.ts";
import { type ParsedArgs, UsageError } from "./args.ts";
import { commandDeps, loadCliConfig } from "./load.ts";
import type { Platform } from "./platform.ts";

export async function plan(args: ParsedArgs, p: Platform): Promise<number> {
  const { config } = await loadCliConfig(args, p);
  const kind = storeKindOf(config.store, p.openSqlite);
  const unmade = kind === "sqlite" && p.fs !== undefined && !(await p.fs.exists(config.store.path));
  const empty =
    kind === "memory"
      ? "store.kind memory"
      : unmade
        ? `store.path ${config.store.path} does not exist yet`
        : undefined;
  if (empty && !config.config_sync.source) return noRulesYet(args, config, p, empty);
  const deps = commandDeps(
    unmade ? { ...config, store: { ...config.store, kind: "memory" } } : config,
    p,
    "warn",
  );
  const store = deps.store;
  try {
    const result = await planFullSync(deps, args.flags.target);
    if (empty)
      p.stderr(`note: ${empty}: nothing is recorded as applied, so every target is planned from scratch\n`);
    const out: string[] = [];
    for (const t of result.targets) {
      const state = t.changed
        ? `changes: version ${t.version} → ${t.planned_version}, ${t.hash}`
        : `no changes (version ${t.version}, ${t.hash})`;
      out.push(`# ${t.target} (${t.kind}, ${t.delivery}): ${t.rules} rules; ${state}`);
      if (t.omitted) out.push(`# left out (omit_fields): ${t.omitted.join("; ")}`);
      if (t.diff) out.push(t.diff.trimEnd());
    }
    p.stdout(`# rule set from ${result.from}: ${result.rules} rules\n${out.join("\n")}\n`);
    return 0;
  } catch (e) {
    if (e instanceof JobError && e.kind === "not_found") throw new UsageError(`--target: ${e.message}`);
    throw e;
  } finally {
    await store.close();
  }
}

/** A store with nothing in it (`empty` says why): no rule set, nothing applied; say so and how to plan for real. */
function noRulesYet(args: ParsedArgs, config: Config, p: Platform, empty: string): number {
  const all = Object.keys(config.config_sync.targets).sort();
  const want = args.flags.target;
  if (want && !all.includes(want)) throw new UsageError(`--target: config_sync target "${want}" not found`);
  const lines = [
    `# no rules yet: ${empty}, so the store holds no rule set, and config_sync.source is not set`,
  ];
  for (const name of want ? [want] : all) {
    const t = config.config_sync.targets[name];
    lines.push(`# ${name} (${t.kind}, ${t.delivery.type}): nothing applied yet; nothing to apply`);
  }
  if (!all.length) lines.push("# no config_sync.targets: nothing to sync to");
  p.stdout(`${lines.join("\n")}\n`);
  p.stderr(
    "note: to plan a rule set, set config_sync.source or point store at the shared store (upstash or redis) your workers sync through\n",
  );
  return 0;
}
