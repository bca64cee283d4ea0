/**
 * Reading a target back (verify.ts) after a delivery, or without one: shared by the deliveries
 * (file.ts, http.ts, mimir.ts) and by delivery.ts, which picks among them.
 */
import { type JobError, transient } from "../errors.ts";
import type { Services } from "../services.ts";
import { baseOf } from "./net.ts";
import type { Rendered, TargetConfig } from "./render.ts";
import { type RulesCheck, type Verification, verifyAlertmanager, verifyRules } from "./verify.ts";

export interface DeliveryInput {
  deps: Services;
  name: string;
  target: TargetConfig;
  rendered: Rendered;
  /** Group names the target had from us before this delivery (what an http read-back may hold). */
  previousGroups: readonly string[];
  /**
   * The hash of each group the target took from us last time, to post only what changed (Mimir);
   * undefined when what it holds is not known (a failed delivery since): every group is posted.
   */
  previousGroupHashes?: Record<string, string>;
  /** The hash of each group of this rendering (mimir.ts groupHashes), when the delivery posts by group. */
  groupHashes?: Record<string, string>;
  /**
   * For an operation on top of the stored rule set (create, update, delete): the hashes of ours
   * the store knows the target may hold (the one it recorded, one a failed attempt may have left,
   * a few it applied before: a file put back by hand to one is behind the store, not ahead).
   * A file holding another rendering of ours is refused (file.ts): the store lost what it holds.
   * Undefined for `full`, which replaces the set.
   */
  onTopOf?: string[];
  /**
   * With onTopOf: what the store knows each other target of this sync may hold. A file holding
   * one of those (two targets' paths swapped in the config) is that target's, not lost state.
   */
  siblings?: Record<string, string[]>;
}

/** A file target read back through its verify.url, or the API beside its reload_url. */
export function readBackFile(
  d: DeliveryInput,
  delivery: Extract<TargetConfig["delivery"], { type: "file" }>,
): Promise<Verification> {
  const baseOfFile = (t: TargetConfig) =>
    t.delivery.type === "file" ? (t.verify.url ?? baseOf(t.delivery.reload_url)) : undefined;
  const base = baseOfFile(d.target);
  // The paths of the other file targets read back from the same peer (its URL however spelled): a
  // file it lists under one of those is theirs, not ours. Another peer's files are not listed here.
  const here = peerOf(base);
  const others = Object.entries(d.deps.config.config_sync.targets)
    .filter(([name, t]) => name !== d.name && t.delivery.type === "file" && peerOf(baseOfFile(t)) === here)
    .map(([, t]) => (t.delivery as typeof delivery).path);
  return readBack(d, base, { path: delivery.path, others }, !!delivery.reload_url);
}

/**
 * The names of 127.0.0.1 as URL hosts ([::ffff:127.0.0.1] is written [::ffff:7f00:1]; a server
 * listening on all addresses answers on ::1 and 0.0.0.0 too). Other 127.x addresses are other
 * servers' as much as theirs.
 */
const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\]|\[::ffff:7f00:1\]|0\.0\.0\.0|\[::\])$/i;

/**
 * A peer's URL as one spelling: no trailing slash, the default port dropped, and the names of
 * 127.0.0.1 (localhost, ::1, 0.0.0.0) as one. Two names of one remote server (a DNS name
 * and its address) still read as two peers (docs/config-sync.md, "Verification").
 */
export function peerOf(base: string | undefined): string | undefined {
  if (!base) return undefined;
  try {
    const u = new URL(base);
    const host = LOOPBACK.test(u.hostname) ? "127.0.0.1" : u.hostname;
    return `${u.protocol}//${host}${u.port ? `:${u.port}` : ""}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return base;
  }
}

/** What a target without a read-back URL records: nothing to verify against, which is not a failure. */
export const UNVERIFIABLE =
  "not verified: set verify.url (or delivery.reload_url) so the worker can read the target back";

/** Reads a Prometheus, vmalert or Alertmanager API at `base` back; unverified without a base. */
export async function readBack(
  d: DeliveryInput,
  base: string | undefined,
  file?: RulesCheck["file"],
  reloaded = false,
): Promise<Verification> {
  const { deps, target, rendered } = d;
  if (!base) {
    return {
      verified: false,
      how: UNVERIFIABLE,
    };
  }
  const timeoutMs = target.verify.timeout;
  if (target.kind === "alertmanager")
    return verifyAlertmanager(deps.fetch, deps.now, base, rendered.hash, timeoutMs);
  return verifyRules(deps.fetch, deps.now, {
    kind: target.kind,
    base,
    expected: rendered.groups,
    file,
    managed: new Set([...d.previousGroups, ...rendered.groups.map((g) => g.name)]),
    timeoutMs,
    reloaded,
  });
}

/**
 * A target found holding what this worker's store did not deliver, under an operation built on
 * the stored set (`DeliveryInput.onTopOf`): the store lost state, or another worker with another
 * store syncs the target. Going on would drop what the store lacks (docs/config-sync.md, "Lost
 * state"). Transient: a sync that delivered and died before recording it is redelivered and
 * records it; a store that really lost state stays so, and the message ends in the DLQ naming this.
 */
export function aheadOfStore(name: string, holds: string, details: Record<string, unknown>): JobError {
  return transient(
    "target_ahead_of_store",
    `target "${name}" holds ${holds} this worker's store did not deliver: the store lost state, or another worker with another store syncs it. Applied on top of the stored rule set (a full without rules re-renders it), this operation would drop what the store lacks; send the whole set: operation "full" with its rules, or with config_sync.source set`,
    30,
    { target: name, ...details },
  );
}
