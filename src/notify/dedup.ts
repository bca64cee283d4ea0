/**
 * Alertmanager repeat detection (docs/notifications.md, "Alertmanager repeats"): Alertmanager's
 * notification log does not stop a receiver from seeing the same notification twice (HA peers
 * each send it; a retried publish is a new message). Per channel and group (groupKey) the store
 * keeps the state the channel last **received** — group status and the sorted fingerprints with
 * each alert's status and start — and when. The same state again within `dedup_window` of that
 * send is a duplicate. A state is recorded only once its send succeeded, so a reminder of a state
 * that never reached the channel (refused, or still being retried) is sent to it.
 *
 * A state can also be older news than what the channel received (skipped as obsolete), but never
 * when it has an alert episode the last send did not have:
 * - a message that first reached the worker before the one the channel last received from (each
 *   message retries on its own schedule: a firing page retried past its own resolve). Its first
 *   arrival is noted with its first claim, so a delivery that died before its ledger entry was
 *   written still counts; what the channel received is kept for store.retention for this.
 * - an Alertmanager HA peer's late copy of a group built before a resolve (lateCopy).
 *
 * Two deliveries of one state at once race on a SET NX claim of the transition (previous message
 * → this state): the holder sends; the other is told to come back (a 503) and then finds the
 * state received, or the claim let go because the send failed. The claim reads what the channel
 * received in the same step: a copy whose early read predates another's send and record (which
 * let the claim go) wins a claim on an old view, lets it go and decides again. A holder with no
 * lease and no open ledger entry died mid-send: its claim is taken over by compare-and-set, and
 * the state goes out under its id.
 */
import type { AlertmanagerPayload } from "../alerts/alert.ts";
import { alertId } from "../alerts/alert.ts";
import { type Batch, readThrough } from "../store/ledger.ts";
import { type Store, toJson, type Write } from "../store/store.ts";
import { hash64 } from "./channels/hmac.ts";

interface Last {
  state: string;
  message: string;
  /** When `message` first reached this worker (absent in records written before it was kept). */
  at?: string;
  /** When the channel received it: a duplicate is the same state within the window of this. */
  sent?: string;
  /** Each alert episode (episodeOf) of that state, and its status there. */
  episodes?: Record<string, string>;
}

/** An alert's episode: its fingerprint and startsAt (a new firing has a new startsAt). */
function episodeOf(a: AlertmanagerPayload["alerts"][number]): string | undefined {
  return a.startsAt ? `${a.fingerprint ?? alertId(a)}:${a.startsAt}` : undefined;
}

/** The episodes of `p` with their statuses; undefined when an alert has no startsAt. */
function episodesOf(p: AlertmanagerPayload): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const a of p.alerts) {
    const e = episodeOf(a);
    if (e === undefined) return undefined;
    out[e] = a.status;
  }
  return out;
}

/**
 * Whether `p` is an HA peer's late copy of what `last` superseded, within `windowMs` of its send
 * (a channel's late_copy_window): each alert as `last` had it, or firing where `last` had that
 * episode resolved — one at least. A peer sends what the first did not after peer_timeout × its
 * position (15 s each by default: 30 s for a third replica), from a group it built before the
 * resolve. Later, it is the alert firing again (Prometheus restores an alert's startsAt after a
 * restart; one Alertmanager sends that no sooner than group_interval, 5 minutes by default) and pages.
 */
function lateCopy(p: Record<string, string>, last: Last, now: number, windowMs: number): boolean {
  const known = last.episodes;
  if (!known || !last.sent || windowMs <= 0 || now - Date.parse(last.sent) > windowMs) return false;
  let stale = 0;
  for (const [e, status] of Object.entries(p)) {
    if (known[e] === status) continue;
    if (status !== "firing" || known[e] !== "resolved") return false;
    stale++;
  }
  return stale > 0;
}

/** Whether `last` knew every episode of `p` (a record from before episodes were kept knew them all). */
const knowsAll = (p: Record<string, string> | undefined, last: Last): boolean =>
  !last.episodes || (p !== undefined && Object.keys(p).every((e) => e in (last.episodes as object)));

/** A claim to send one group state to one channel: recorded when received, let go when not. */
export interface DedupClaim {
  group: string;
  state: string;
  key: string;
  /** When the claiming message first reached this worker. */
  at: string;
  /** The claim's value: this message, and the id the state goes out under. */
  holder: Holder;
  /** This state's episodes and their statuses (undefined when an alert has no startsAt). */
  episodes?: Record<string, string>;
  /** Taken over: the message that held the state before, whose saved parts this send finishes. */
  from?: string;
}

export type DedupAnswer =
  | { kind: "send"; claim: DedupClaim }
  /** The channel received this state from `message` within the window. */
  | { kind: "duplicate"; message: string }
  /** The channel received a newer state of the group from `message`. */
  | { kind: "obsolete"; message: string }
  /** `message` is sending this state to the channel right now. */
  | { kind: "in_flight"; message: string; retryAfterS: number };

/**
 * The state of a group: its status and, sorted, every alert's fingerprint, status and startsAt.
 * startsAt tells a new episode of an alert from a reminder of the same one: the resolve in
 * between may never have reached the channel (send_resolved: false, or refused).
 */
export function groupState(p: AlertmanagerPayload): string {
  const alerts = p.alerts.map((a) => `${a.fingerprint ?? alertId(a)}:${a.status}:${a.startsAt ?? ""}`).sort();
  // truncatedAlerts: an alert joining past Alertmanager's max_alerts changes only the count
  // (appended only when there are some, so states hashed before it was counted stay the same).
  const truncated = p.truncatedAlerts ? `|+${p.truncatedAlerts}` : "";
  return hash64(`${p.status}|${alerts.join(",")}${truncated}`);
}

/** Work started with the claim's write (a robot's rate take), and undone when the claim is lost. */
export interface Alongside {
  start(): void;
  lost(): void;
}

/** Who holds a claim, and under whose id the state goes out (the id a receiver drops repeats by). */
interface Holder {
  message: string;
  origin: string;
  /** This attempt's own: a renewal writes a new one, so a takeover's compare-and-set sees it. */
  attempt: string;
}

/** What the caller knows of the message, the channel and the leases. */
export interface Claiming {
  messageId: string;
  /** When this delivery of the message reached this worker (its ledger entry's received_at). */
  receivedAt: string;
  now: number;
  /** The channel's dedup_window: the same state again within it is a duplicate. */
  windowMs: number;
  /** The channel's late_copy_window (lateCopy). */
  lateCopyMs: number;
  /** How long a claim lasts unless let go: at least the lease, and the dedup window. */
  holdMs: number;
  /** Notes the message's first arrival (arrivedKey), once for all its channels. */
  noteArrival: (at: string) => Promise<unknown>;
  /** The store key of a message's lease: a holder without one died mid-send… */
  leaseKey: (messageId: string) => string;
  /** …unless its ledger entry is open: it answered 503 and waits for QStash's retry, which resumes it. */
  entryKey: (messageId: string) => string;
}

/**
 * The key of when a message first claimed a state (read with the job's claim): a message whose
 * first delivery died before its ledger entry was written still counts from its first arrival.
 * (`@` is in no channel name, so it is no message's delivery record.)
 */
export const arrivedKey = (messageId: string) => `notification:${messageId}:@arrived`;

/** A job's noteArrival: the first channel's claim writes it, the others share that write. */
export function arrivalNote(
  store: Store,
  messageId: string,
  keepMs: number,
): (at: string) => Promise<unknown> {
  let written: Promise<unknown> | undefined;
  return (at) => {
    written ??= store.set(arrivedKey(messageId), at, { nx: true, ttlMs: keepMs });
    return written;
  };
}

/**
 * Whether this notification should be sent to the channel. `alongside` starts as the claim is
 * written, not for a duplicate, so what it starts shares the claim's round trip; it is told at
 * once when the claim went to another message.
 */
export async function claimNotification(
  store: Store,
  channel: string,
  payload: AlertmanagerPayload,
  c: Claiming,
  batch?: Batch,
  alongside?: Alongside,
): Promise<DedupAnswer> {
  const { messageId, holdMs } = c;
  const group = dedupKeyOf(channel, payload);
  const state = groupState(payload);
  const episodes = episodesOf(payload);
  const [last, arrived] = await Promise.all([
    readThrough<Last>(store, group, batch),
    readThrough<string>(store, arrivedKey(messageId), batch),
  ]);
  const at = arrived && arrived < c.receivedAt ? arrived : c.receivedAt;
  const attempt = crypto.randomUUID();
  const mine: Holder = { message: messageId, origin: messageId, attempt };
  let seen = last;
  for (let round = 0; ; round++) {
    const settled = settledBy(seen, state, episodes, at, c);
    if (settled) return settled;
    const key = `${group}:${state}:${seen?.message ?? "-"}`;
    const claimOf = (holder: Holder, from?: string): DedupClaim => ({
      group,
      state,
      key,
      at,
      holder,
      episodes,
      ...(from ? { from } : {}),
    });
    // The claim reads the group again in the same step: `seen` may be the job's early read, from
    // before another copy of this state sent, recorded it and let its claim go.
    const won = store.acquire<Last>(key, mine, holdMs, group);
    // Rides on the claim's round trip; kept whoever wins the claim.
    const noted = arrived ? undefined : c.noteArrival(at);
    alongside?.start();
    const [got] = await Promise.all([won, noted]);
    const now = got.read;
    if (got.acquired && toJson(now) === toJson(seen)) return { kind: "send", claim: claimOf(mine) };
    alongside?.lost();
    // Won on an old view (let go), or the holder gone meanwhile: decide again on what the channel
    // received meanwhile, and race for it again.
    if (got.acquired) await store.delIfEquals(key, mine);
    const held = got.acquired ? null : await store.get<Holder | string>(key);
    if (!held) {
      if (round >= 2) return { kind: "in_flight", message: "another delivery", retryAfterS: 1 };
      seen = now;
      continue;
    }
    // (A claim written before holders had an origin is the holder's id alone.)
    const holder = typeof held === "string" ? { message: held, origin: held, attempt: "" } : held;
    // Ours already (a retry of this message): renewed — unless another took it over meanwhile.
    // Dead mid-send (its lease ran out): taken over under its id, so a receiver that drops repeated
    // Idempotency-Keys drops what it had already got (docs/notifications.md).
    const ours = holder.message === messageId;
    const leaseMs = ours ? 0 : await store.pttl(c.leaseKey(holder.message));
    const dead =
      leaseMs === -2 &&
      (await store.get<{ status?: string }>(c.entryKey(holder.message)))?.status !== "processing";
    if (ours || dead) {
      const next: Holder = { message: messageId, origin: holder.origin, attempt };
      const swapped = await store.writeMany([
        { op: "check", key, equals: held, guards: 1 },
        { op: "set", key, value: next, ttlMs: holdMs },
      ]);
      if (swapped) return { kind: "send", claim: claimOf(next, ours ? undefined : holder.message) };
    }
    return {
      kind: "in_flight",
      message: ours ? "another delivery" : holder.message,
      retryAfterS: Math.max(1, Math.ceil((leaseMs > 0 ? leaseMs : 1000) / 1000)),
    };
  }
}

/** A duplicate or an obsolete state, by what the channel last received (`last`); undefined: send it. */
function settledBy(
  last: Last | null,
  state: string,
  episodes: Record<string, string> | undefined,
  at: string,
  c: Claiming,
): DedupAnswer | undefined {
  if (!last || last.message === c.messageId) return undefined;
  // A record from before `sent` was kept lived only as long as the window.
  const recent = !last.sent || c.now - Date.parse(last.sent) < c.windowMs;
  if (last.state === state && recent) return { kind: "duplicate", message: last.message };
  // Never a state with an episode `last` did not know: that is news, whatever the clocks say.
  if (
    (last.at && at < last.at && knowsAll(episodes, last)) ||
    (episodes && lateCopy(episodes, last, c.now, c.lateCopyMs))
  )
    return { kind: "obsolete", message: last.message };
  return undefined;
}

/** The key of what a channel last received of a group (read with the job's claim). */
export function dedupKeyOf(channel: string, payload: AlertmanagerPayload): string {
  return `notify:dedup:${channel}:${hash64(payload.groupKey)}`;
}

/**
 * The channel received the state: repeats of it within the window are duplicates, and older
 * states are obsolete for `keepMs`; the claim is done.
 */
export function receivedWrites(
  claim: DedupClaim,
  messageId: string,
  sentAt: string,
  keepMs: number,
): Write[] {
  return [
    {
      op: "set",
      key: claim.group,
      value: {
        state: claim.state,
        message: messageId,
        at: claim.at,
        sent: sentAt,
        ...(claim.episodes ? { episodes: claim.episodes } : {}),
      } satisfies Last,
      ttlMs: keepMs,
    },
    { op: "del", key: claim.key, ifEquals: claim.holder },
  ];
}

/** The send failed: let the state go, so the next reminder (or this message's retry) sends it. */
export function releaseWrite(claim: DedupClaim): Write {
  return { op: "del", key: claim.key, ifEquals: claim.holder };
}
