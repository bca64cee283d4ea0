/**
 * What config sync keeps in the store: the rule set (`sync:rules`), one record per target
 * (`sync:target:<name>`: version, hash, when it was applied, how it was verified, the last
 * error and the masked rendering last applied, which plans diff against), and a lock
 * (`sync:lock`) so two deliveries of config-sync jobs never interleave.
 */
import { transient } from "../errors.ts";
import { acquireOrLetGo, type Store, type Write } from "../store/store.ts";
import type { Rule } from "./rule.ts";

export interface RuleSet {
  rules: Rule[];
  updated_at: string | null;
}

export interface TargetState {
  target: string;
  kind: string;
  delivery: string;
  /** Bumped by one on each applied change; 0 before the first. */
  version: number;
  /** Hash of what the target has (the last applied rendering), null before the first. */
  hash: string | null;
  /** Hash of a rendering a failed attempt may have left on the target (a file written, not verified). */
  attempted_hash?: string;
  /** Hashes of the renderings applied before `hash`, newest first (a few): a file put back to one is behind, not ahead. */
  earlier_hashes?: string[];
  /** Groups failed attempts may have posted to a per-group API (Mimir) and no applied set recorded. */
  attempted_groups?: string[];
  applied_at: string | null;
  verified: boolean;
  /** How the target was read back, or why it was not. */
  verified_how: string | null;
  last_error: { code: string; message: string; at: string } | null;
  last_attempt_at: string | null;
  rules: number;
  groups: string[];
  /** sha256 of each group as posted to a per-group API (Mimir): what need not be posted again. */
  group_hashes?: Record<string, string>;
  /** Where it was last delivered (plan.ts destinationOf); absent in states recorded before it was kept. */
  destination?: string;
  /** The last applied rendering, secrets masked. */
  content: string;
}

const RULES_KEY = "sync:rules";
const LOCK_KEY = "sync:lock";
const targetKey = (name: string) => `sync:target:${name}`;
/** Marks that a message's operation is in the stored set: its retry delivers the set, not the operation again. */
const appliedKey = (messageId: string) => `sync:applied:${messageId}`;

/** The rule set before any sync stored one (a new object each time: callers may change it). */
const noRules = (): RuleSet => ({ rules: [], updated_at: null });

export async function loadRuleSet(store: Store): Promise<RuleSet> {
  return (await store.get<RuleSet>(RULES_KEY)) ?? noRules();
}

/** How long a process keeps its name → expression map of the rule set (evidence may use a minute-old rule). */
const EXPRESSIONS_KEPT_MS = 60_000;

/**
 * The expression of each alerting rule of the stored set, by alert name: read once a minute at
 * most, not on every lookup (the set may hold thousands of rules).
 */
export function ruleExpressions(
  store: Store,
  now: () => number,
): (name: string) => Promise<string | undefined> {
  let kept: { at: number; byName: Promise<Map<string, string>> } | undefined;
  return async (name) => {
    if (!kept || now() - kept.at >= EXPRESSIONS_KEPT_MS) {
      const byName = loadRuleSet(store).then(
        ({ rules }) => new Map(rules.flatMap((r) => (r.name ? [[r.name, r.expr] as const] : []))),
      );
      kept = { at: now(), byName };
      // A failed read is not kept: the next lookup reads again.
      byName.catch(() => {
        kept = undefined;
      });
    }
    return (await kept.byName).get(name);
  };
}

/**
 * The renderings of ours a target may hold, as its state knows them: the one recorded, one a
 * failed attempt may have left, a few applied before (a file put back by hand to one).
 */
export function knownHashes(state: TargetState): string[] {
  return [...new Set([state.hash, state.attempted_hash, ...(state.earlier_hashes ?? [])])].filter(
    (h): h is string => !!h,
  );
}

export function emptyState(target: string, kind: string, delivery: string): TargetState {
  return {
    target,
    kind,
    delivery,
    version: 0,
    hash: null,
    applied_at: null,
    verified: false,
    verified_how: null,
    last_error: null,
    last_attempt_at: null,
    rules: 0,
    groups: [],
    content: "",
  };
}

export async function loadStates(store: Store, names: readonly string[]): Promise<(TargetState | null)[]> {
  return names.length ? store.mget<TargetState>(names.map(targetKey)) : [];
}

export async function saveRuleSet(store: Store, set: RuleSet): Promise<void> {
  await store.set(RULES_KEY, set);
}

export async function saveState(store: Store, state: TargetState): Promise<void> {
  await store.set(targetKey(state.target), state);
}

/** The sync lock, held, with the rule set and the targets' states read under it. */
export interface Held {
  set: RuleSet;
  states: (TargetState | null)[];
  /** Whether this message's operation went into the set on an earlier attempt (saveAndRelease's `applied`). */
  applied: boolean;
  /**
   * Writes the rule set (when given) and the targets' states, and lets the lock go, in one step
   * made only while the lock is still this sync's: the next sync to take the lock reads all of it,
   * and a sync that lost its lock cannot overwrite what the next holder writes (503
   * sync_lock_lost: the retry plans again). If that write fails, the lock is let go alone, so a
   * retry is not refused until the TTL. `applied`: the message whose operation the stored set now
   * holds, remembered for `keepMs`.
   */
  saveAndRelease(
    set: RuleSet | undefined,
    states: TargetState[],
    applied?: { messageId: string; keepMs: number },
  ): Promise<void>;
}

/**
 * Takes the sync lock and reads the rule set and the targets' states in the same atomic step
 * (`acquire`: a script on Redis and Upstash, a transaction on SQLite), so the reads see all that
 * the lock's last holder wrote (docs/config-sync.md). Null when another sync holds the lock.
 * The lock is renewed every third of its TTL while the sync runs; the TTL frees a lock whose
 * holder died.
 */
export async function takeLock(
  store: Store,
  names: readonly string[],
  ttlMs: number,
  messageId?: string,
): Promise<Held | null> {
  const token = crypto.randomUUID();
  const more = [...names.map(targetKey), ...(messageId ? [appliedKey(messageId)] : [])];
  const got = await acquireOrLetGo<RuleSet>(store, LOCK_KEY, token, ttlMs, RULES_KEY, more);
  if (!got.acquired) return null;
  // A failed renewal is not fatal here: the final write's check finds a lock that was lost. One
  // that lapsed with no one taking it (the event loop stalled past the TTL) is taken back.
  const renew = async () => {
    if (!(await store.expireIfEquals(LOCK_KEY, token, ttlMs)))
      await acquireOrLetGo(store, LOCK_KEY, token, ttlMs, RULES_KEY);
  };
  const renewer = setInterval(() => void renew().catch(() => {}), ttlMs / 3);
  (renewer as { unref?: () => void }).unref?.();
  return {
    set: got.read ?? noRules(),
    states: got.more.slice(0, names.length) as (TargetState | null)[],
    applied: messageId !== undefined && got.more[names.length] != null,
    async saveAndRelease(next, saved, applied) {
      clearInterval(renewer);
      const writes: Write[] = [
        ...(next ? [{ op: "set" as const, key: RULES_KEY, value: next }] : []),
        ...saved.map((s) => ({ op: "set" as const, key: targetKey(s.target), value: s })),
        ...(applied
          ? [{ op: "set" as const, key: appliedKey(applied.messageId), value: true, ttlMs: applied.keepMs }]
          : []),
        { op: "del", key: LOCK_KEY, ifEquals: token },
      ];
      let held: boolean;
      try {
        held = await store.writeMany([
          { op: "check", key: LOCK_KEY, equals: token, guards: writes.length },
          ...writes,
        ]);
      } catch (e) {
        await store.delIfEquals(LOCK_KEY, token).catch(() => {});
        throw e;
      }
      if (!held)
        throw transient(
          "sync_lock_lost",
          "this sync outlived its lock and another sync took it: its records were not written; the retry plans again",
          5,
        );
    },
  };
}
