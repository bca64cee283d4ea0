/**
 * Alertmanager repeat detection (docs/notifications.md, "Alertmanager repeats"): Alertmanager's
 * notification log does not stop a receiver from seeing the same notification twice (HA peers
 * each send it; a retried publish is a new message). Per channel and group (groupKey) the store
 * keeps the state the channel last **received** — group status and the sorted fingerprints with
 * each alert's status and start — for `dedup_window`. The same state again within the window is a
 * duplicate. A state is recorded only once its send succeeded, so a reminder of a state that
 * never reached the channel (refused, or still being retried) is sent to it.
 *
 * Each message retries on its own schedule, so an older state can come back after a newer one
 * was received: a firing page retried past its own resolve would leave the chat saying FIRING
 * for an alert that has ended. Alertmanager sends the whole group each time, so a state from a
 * message that first reached this worker before the one the channel last received from is older
 * news: skipped as obsolete.
 *
 * Two deliveries of one state at once race on a short SET NX claim of the transition
 * (previous message → this state): the holder sends; the other is told to come back (a 503)
 * and then finds the state received, or the claim let go because the send failed.
 */
import type { AlertmanagerPayload } from "../alerts/alert.ts";
import { alertId } from "../alerts/alert.ts";
import { type Batch, readThrough } from "../store/ledger.ts";
import type { Store, Write } from "../store/store.ts";
import { hash64 } from "./channels/hmac.ts";

interface Last {
  state: string;
  message: string;
  /** When `message` first reached this worker (absent in records written before it was kept). */
  at?: string;
}

/** A claim to send one group state to one channel: recorded when received, let go when not. */
export interface DedupClaim {
  group: string;
  state: string;
  key: string;
  /** When the claiming message first reached this worker. */
  at: string;
  /** The claim's value: this message, and the id the state goes out under. */
  holder: Holder;
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
  return hash64(`${p.status}|${alerts.join(",")}`);
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
}

/** What the caller knows of the message and its lease. */
export interface Claiming {
  messageId: string;
  /** When the message first reached this worker (its ledger entry's received_at). */
  receivedAt: string;
  /** How long a claim lasts unless let go: at least the lease, and the dedup window. */
  holdMs: number;
  /** The store key of a message's lease: a holder without one died mid-send. */
  leaseKey: (messageId: string) => string;
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
  const last = await readThrough<Last>(store, group, batch);
  if (last && last.message !== messageId) {
    if (last.state === state) return { kind: "duplicate", message: last.message };
    if (last.at && c.receivedAt < last.at) return { kind: "obsolete", message: last.message };
  }
  const key = `${group}:${state}:${last?.message ?? "-"}`;
  const claimOf = (holder: Holder): DedupClaim => ({ group, state, key, at: c.receivedAt, holder });
  const mine: Holder = { message: messageId, origin: messageId };
  const won = store.set(key, mine, { nx: true, ttlMs: holdMs });
  alongside?.start();
  if (await won) return { kind: "send", claim: claimOf(mine) };
  alongside?.lost();
  const held = await store.get<Holder | string>(key);
  // Gone meanwhile: race for it again.
  if (!held)
    return (await store.set(key, mine, { nx: true, ttlMs: holdMs }))
      ? { kind: "send", claim: claimOf(mine) }
      : { kind: "in_flight", message: "another delivery", retryAfterS: 1 };
  // (A claim written before holders had an origin is the holder's id alone.)
  const holder = typeof held === "string" ? { message: held, origin: held } : held;
  // Ours already (a retry of this message): renew it.
  if (holder.message === messageId) {
    await store.set(key, holder, { ttlMs: holdMs });
    return { kind: "send", claim: claimOf(holder) };
  }
  const leaseMs = await store.pttl(c.leaseKey(holder.message));
  if (leaseMs === -2) {
    // The holder died mid-send: its lease ran out. The state goes out under its id, so a receiver
    // that drops repeated Idempotency-Keys drops what it had already got (docs/notifications.md).
    const taken: Holder = { message: messageId, origin: holder.origin };
    const swapped = await store.writeMany([
      { op: "check", key, equals: held, guards: 1 },
      { op: "set", key, value: taken, ttlMs: holdMs },
    ]);
    if (swapped) return { kind: "send", claim: claimOf(taken) };
  }
  return {
    kind: "in_flight",
    message: holder.message,
    retryAfterS: Math.max(1, Math.ceil((leaseMs > 0 ? leaseMs : 1000) / 1000)),
  };
}

/** The key of what a channel last received of a group (read with the job's claim). */
export function dedupKeyOf(channel: string, payload: AlertmanagerPayload): string {
  return `notify:dedup:${channel}:${hash64(payload.groupKey)}`;
}

/** The channel received the state: repeats of it within the window are duplicates; the claim is done. */
export function receivedWrites(claim: DedupClaim, messageId: string, windowMs: number): Write[] {
  return [
    {
      op: "set",
      key: claim.group,
      value: { state: claim.state, message: messageId, at: claim.at } satisfies Last,
      ttlMs: windowMs,
    },
    { op: "del", key: claim.key, ifEquals: claim.holder },
  ];
}

/** The send failed: let the state go, so the next reminder (or this message's retry) sends it. */
export function releaseWrite(claim: DedupClaim): Write {
  return { op: "del", key: claim.key, ifEquals: claim.holder };
}
