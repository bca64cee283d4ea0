/**
 * Alertmanager repeat detection (docs/contracts.md#alertmanager-webhook-payload): Alertmanager's notification log does not stop
 * a receiver from seeing the same notification twice (HA peers each send it; a retried
 * publish is a new message). Per channel and group (groupKey) the store keeps the state last
 * sent — group status and the sorted fingerprints with each alert's status — for
 * `dedup_window`. The same state again within the window is a duplicate. A real change and
 * back (firing → resolved → firing) is not, because the state in between was sent. Two
 * instances handling the same repeat at once race on one SET NX claim of the transition
 * (previous sender → this state): one sends, the other records the skip.
 */
import type { AlertmanagerPayload } from "../alerts/alert.ts";
import { alertId } from "../alerts/alert.ts";
import type { Store } from "../store/store.ts";
import { hash64 } from "./hmac.ts";

interface Last {
  state: string;
  message: string;
}

/** The state of a group: its status and the sorted fingerprint:status of every alert. */
export function groupState(p: AlertmanagerPayload): string {
  const alerts = p.alerts.map((a) => `${a.fingerprint ?? alertId(a)}:${a.status}`).sort();
  return hash64(`${p.status}|${alerts.join(",")}`);
}

/**
 * Claims this notification for the channel; returns the message id it duplicates, or
 * undefined when this one should be sent (first of its state, or already claimed by us).
 */
export async function claimNotification(
  store: Store,
  channel: string,
  payload: AlertmanagerPayload,
  messageId: string,
  windowMs: number,
): Promise<string | undefined> {
  const group = `notify:dedup:${channel}:${hash64(payload.groupKey)}`;
  const state = groupState(payload);
  const last = await store.get<Last>(group);
  if (last?.message === messageId) return undefined;
  if (last?.state === state) return last.message;
  const claim = `${group}:${state}:${last?.message ?? "-"}`;
  if (!(await store.set(claim, messageId, { nx: true, ttlMs: windowMs }))) {
    const holder = await store.get<string>(claim);
    if (holder && holder !== messageId) return holder;
  }
  await store.set(group, { state, message: messageId } satisfies Last, { ttlMs: windowMs });
  return undefined;
}
