/**
 * Applying a plan to one target: deliver when its hash changed (delivery.ts), then say what
 * the target's state becomes — a new version, hash and verification on success; the error,
 * with the version kept, on failure — and count it in the metrics. The sync writes the states
 * of all its targets in one step when it lets its lock go (sync.ts).
 */

import { type JobError, permanent, toJobError, transient } from "../errors.ts";
import { isoAt } from "../iso-time.ts";
import { maskText } from "../mask.ts";
import type { Services } from "../services.ts";
import type { Logger } from "../telemetry/logger.ts";
import { deliver } from "./delivery.ts";
import { groupHashes } from "./mimir.ts";
import type { TargetPlan } from "./plan.ts";
import { knownHashes, type TargetState } from "./state.ts";
import type { Verification } from "./verify.ts";

export interface TargetResult {
  target: string;
  kind: string;
  changed: boolean;
  version: number;
  hash: string;
  verified: boolean;
  verified_how?: string | null;
  rules: number;
  omitted?: string[];
  /** The file no longer held its unchanged rendering and was written again (plan.ts TargetPlan.drifted). */
  drifted?: true;
  /** The config sends the target elsewhere now: it was delivered there (plan.ts TargetPlan.moved). */
  moved?: true;
  diff?: string;
  error?: { code: string; message: string };
}

/** How many earlier renderings a target's state remembers as ours (a file put back by hand to one). */
const EARLIER_KEPT = 10;

/** A job result carries at most this much diff per target; GET /v1/sync/plan has it all. */
const DIFF_LIMIT = 64 * 1024;

/** A diff cut to DIFF_LIMIT characters, saying how much was left out. */
export function clip(diff: string): string {
  if (diff.length <= DIFF_LIMIT) return diff;
  const rest = diff.slice(DIFF_LIMIT).split("\n").length;
  return `${diff.slice(0, DIFF_LIMIT)}\n… ${rest} more lines: GET /v1/sync/plan shows the whole diff before a sync\n`;
}

export interface Applied {
  result: TargetResult;
  /** Delivered again with the rendering it was recorded with (drifted, or moved unchanged): not the new set. */
  again?: true;
  failure?: JobError;
  /** The target's state to record, when it changed. */
  state?: TargetState;
}

/**
 * Delivers one target when its hash changed; says what happened and what its state becomes.
 * `onTopOfStore`: the operation builds on the stored rule set (not `full`), so a target found
 * holding a rendering the store did not record is refused (read-back.ts DeliveryInput.onTopOf).
 */
export async function apply(
  deps: Services,
  p: TargetPlan,
  log: Logger,
  onTopOfStore = false,
  /** What the store knows each other target of this sync may hold (knownHashes). */
  siblings: Record<string, string[]> = {},
): Promise<Applied> {
  const base = {
    target: p.name,
    kind: p.target.kind,
    rules: p.rendered.rules,
    ...(p.rendered.omitted.length ? { omitted: p.rendered.omitted } : {}),
    ...(p.drifted ? { drifted: true as const } : {}),
    ...(p.moved ? { moved: true as const } : {}),
  };
  const at = isoAt(deps.now());
  deps.metrics.set("configVersion", { target: p.name }, p.state.version);
  if (!p.changed && !p.state.last_error) {
    deps.metrics.inc("configSync", { target: p.name, outcome: "unchanged" });
    const result = {
      ...base,
      changed: false,
      version: p.state.version,
      hash: p.rendered.hash,
      verified: p.state.verified,
    };
    return { result };
  }
  // Each group's hash, for a per-group API only (Mimir): sent on, and kept so a later sync posts
  // only what changed.
  const groupHashesNow =
    p.target.delivery.type === "mimir" && p.rendered.ruleFile ? await groupHashes(p.rendered) : undefined;
  const hashes = groupHashesNow ? { group_hashes: groupHashesNow } : {};
  const input = {
    deps,
    name: p.name,
    target: p.target,
    rendered: p.rendered,
    // Ours too: groups a failed attempt may have posted (Mimir's lost-state guard, read-backs).
    previousGroups: [...new Set([...p.state.groups, ...(p.state.attempted_groups ?? [])])],
    // After a failed attempt what the target holds is not known: every group goes again.
    previousGroupHashes: p.state.last_error ? undefined : p.state.group_hashes,
    groupHashes: groupHashesNow,
    ...(onTopOfStore ? { onTopOf: knownHashes(p.state), siblings } : {}),
  };
  if (!p.changed) {
    // The last attempt failed and the set is back to what the target was recorded with: deliver
    // that again, so `verified` says what it runs now. A file the peer took before its read-back
    // failed was not put back (file.ts), nor is what an http or mimir peer kept of a refused one.
    try {
      const v = masked(await deliver(input));
      const state = {
        ...p.state,
        ...hashes,
        destination: p.destination,
        verified: v.verified,
        verified_how: v.how,
        last_error: null,
        last_attempt_at: at,
      };
      deps.metrics.inc("configSync", { target: p.name, outcome: "unchanged" });
      return {
        state,
        result: {
          ...base,
          changed: false,
          version: p.state.version,
          hash: p.rendered.hash,
          verified: v.verified,
          verified_how: v.how,
        },
      };
    } catch (e) {
      return failed(deps, p, base, at, e, log);
    }
  }
  try {
    const v = masked(await deliver(input));
    const next: TargetState = {
      ...p.state,
      version: p.state.version + 1,
      hash: p.rendered.hash,
      earlier_hashes: [p.state.hash, ...(p.state.earlier_hashes ?? [])]
        .filter((h): h is string => !!h && h !== p.rendered.hash)
        .slice(0, EARLIER_KEPT),
      attempted_hash: undefined,
      attempted_groups: undefined,
      applied_at: at,
      verified: v.verified,
      verified_how: v.how,
      last_error: null,
      last_attempt_at: at,
      rules: p.rendered.rules,
      groups: p.rendered.groups.map((g) => g.name),
      ...hashes,
      destination: p.destination,
      content: p.rendered.display,
    };
    deps.metrics.inc("configSync", { target: p.name, outcome: "applied" });
    deps.metrics.set("configVersion", { target: p.name }, next.version);
    log.info("config sync applied", {
      target: p.name,
      version: next.version,
      hash: next.hash,
      verified: v.verified,
    });
    return {
      state: next,
      ...(p.drifted || (p.moved && p.rendered.hash === p.state.hash) ? { again: true as const } : {}),
      result: {
        ...base,
        changed: true,
        version: next.version,
        hash: p.rendered.hash,
        verified: v.verified,
        verified_how: v.how,
        diff: clip(p.diff),
      },
    };
  } catch (e) {
    return failed(deps, p, base, at, e, log);
  }
}

/** How a target was verified names the URL it read: kept and shown without its credentials. */
const masked = (v: Verification): Verification => ({ ...v, how: maskText(v.how) });

/** A failed attempt, as its state to record: the error, with the version kept; `verified` false until a read-back says otherwise. */
async function failed(
  deps: Services,
  p: TargetPlan,
  base: Pick<TargetResult, "target" | "kind" | "rules" | "omitted" | "drifted" | "moved">,
  at: string,
  e: unknown,
  log: Logger,
): Promise<Applied> {
  const failure = toJobError(e);
  if (failure.code === "internal_error")
    log.error("config sync crashed", { target: p.name, error: e, stack: (e as Error)?.stack });
  // An unexpected error keeps its generic message: the detail (a stack, an internal name) is in the log only.
  const message = failure.message;
  const attempted = p.changed ? `the sync to version ${p.state.version + 1} failed` : "the read-back failed";
  const state: TargetState = {
    ...p.state,
    // A delivery that failed may have left its rendering in place (a file written, not read back).
    ...(p.changed
      ? {
          attempted_hash: p.rendered.hash,
          attempted_groups: [
            ...new Set([...(p.state.attempted_groups ?? []), ...p.rendered.groups.map((g) => g.name)]),
          ],
        }
      : {}),
    verified: false,
    verified_how: `${attempted}; the target keeps version ${p.state.version}`,
    last_error: { code: failure.code, message, at },
    last_attempt_at: at,
  };
  deps.metrics.inc("configSync", { target: p.name, outcome: "failed" });
  log.warn("config sync failed", { target: p.name, code: failure.code, error: message });
  const error = { code: failure.code, message };
  const result = {
    ...base,
    changed: p.changed,
    version: p.state.version,
    hash: p.rendered.hash,
    verified: false,
    error,
  };
  return { result, failure, state };
}

/** One or more targets did not take the new config: transient when a retry can help, else permanent. */
export function syncFailed(applied: Applied[], note?: string): JobError {
  const failed = applied.filter((a) => a.failure);
  const retryable = failed.some((a) => a.failure?.retryable);
  const what = failed.map((a) => `${a.result.target}: ${a.result.error?.message}`).join("; ");
  const n = applied.length;
  const code = failed.length === 1 ? (failed[0].failure?.code ?? "sync_failed") : "sync_failed";
  const message = `${failed.length} of ${n} target${n > 1 ? "s" : ""} did not take the new config: ${what}${note ? `; ${note}` : ""}`;
  const details = { targets: applied.map((a) => a.result) };
  return retryable ? transient(code, message, 30, details) : permanent(code, message, details);
}
