/**
 * Alertmanager repeat detection (docs/notifications.md, "Alertmanager repeats"): Alertmanager's
 * notification log does not stop a receiver from seeing the same notification twice (HA peers
 * each send it; a retried publish is a new message). Per channel and group (groupKey) the store
 * keeps the state the channel last **received** — group status and the sorted fingerprints with
 * each alert's status and start — for `dedup_window`. The same state again within the window is a
 * duplicate. A state is recorded only once its send succeeded, so a reminder of a state that
 * never reached the channel (refused, or still being retried) is sent to it.
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
}

/** A claim to send one group state to one channel: recorded when received, let go when not. */
export interface DedupClaim {
  group: string;
  state: string;
  key: string;
}

export type DedupAnswer =
  | { kind: "send"; claim: DedupClaim }
  /** The channel received this state from `message` within the window. */
  | { kind: "duplicate"; message: string }
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

/**
 * Whether this notification should be sent to the channel. `claimMs` bounds how long a
 * delivery that dies mid-send holds the state (the lease length). `alongside` starts as the
 * claim is written, not for a duplicate, so what it starts shares the claim's round trip; it is
 * told at once when the claim went to another message.
 */
export async function claimNotification(
  store: Store,
  channel: string,
  payload: AlertmanagerPayload,
  messageId: string,
  claimMs: number,
  batch?: Batch,
  alongside?: Alongside,
): Promise<DedupAnswer> {
  const group = dedupKeyOf(channel, payload);
  const state = groupState(payload);
  const last = await readThrough<Last>(store, group, batch);
  if (last?.state === state && last.message !== messageId)
    return { kind: "duplicate", message: last.message };
  const key = `${group}:${state}:${last?.message ?? "-"}`;
  const claim = { group, state, key };
  const won = store.set(key, messageId, { nx: true, ttlMs: claimMs });
  alongside?.start();
  if (await won) return { kind: "send", claim };
  alongside?.lost();
  const holder = await store.get<string>(key);
  // Ours already (a retry of this message): renew it. Gone meanwhile: race for it again.
  if (holder === messageId) {
    await store.set(key, messageId, { ttlMs: claimMs });
    return { kind: "send", claim };
  }
  if (!holder && (await store.set(key, messageId, { nx: true, ttlMs: claimMs })))
    return { kind: "send", claim };
  const ttl = await store.pttl(key);
  return {
    kind: "in_flight",
    message: holder ?? "another delivery",
    retryAfterS: Math.max(1, Math.ceil((ttl > 0 ? ttl : 1000) / 1000)),
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
      value: { state: claim.state, message: messageId } satisfies Last,
      ttlMs: windowMs,
    },
    { op: "del", key: claim.key, ifEquals: messageId },
  ];
}

/** The send failed: let the state go, so the next reminder (or this message's retry) sends it. */
export function releaseWrite(claim: DedupClaim, messageId: string): Write {
  return { op: "del", key: claim.key, ifEquals: messageId };
}
