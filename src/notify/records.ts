/**
 * Delivery records (README, "Operations" `GET /v1/notifications/:messageId`): per message and channel,
 * the rendered parts (title, body, size), which parts were sent and what the downstream
 * answered, attempts, status, error and timestamps. The rendering is kept from the first
 * attempt, so a redelivery sends exactly the parts that were not sent yet.
 */
import { type Batch, readThrough } from "../store/ledger.ts";
import type { Store, Write } from "../store/store.ts";
import type { Limit } from "./channels/channel.ts";
import type { Format } from "./text.ts";

/** The statuses of docs/notifications.md, plus `pending`: waiting for QStash's next delivery. */
export type DeliveryStatus =
  | "sent"
  | "failed"
  | "skipped_duplicate"
  | "skipped_obsolete"
  | "fell_back"
  | "pending";

export interface PartRecord {
  part: number;
  parts: number;
  title: string;
  body: string;
  /** The text/plain alternative (email). */
  alt?: string;
  link?: string;
  /** The link's caption, in the channel's locale. */
  linkText?: string;
  alerts: number;
  size: number;
  sent: boolean;
  sent_at?: string;
  response?: unknown;
  /** The positions in the job's alerts of those this part lists (webhook: the alerts it carries). */
  at?: number[];
  /** A lone alert whose texts were shortened to fit a receiver that refused it as too large (heal.ts). */
  shortened?: boolean;
  /** How many times this piece was split again after the robot said "too long". */
  resplit?: number;
  /** A later piece of a part split again: it keeps the part's number but wakes nobody again. */
  quiet?: boolean;
  /** Sent waking people in place of a first part refused for good (stages.ts): a redelivery wakes nobody again. */
  wake?: boolean;
  /** Recipients that have this part already (email sent in several transactions, a later one failed). */
  sent_to?: string[];
}

export interface DeliveryRecord {
  message_id: string;
  channel: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  format: Format;
  template: string;
  limit?: Limit;
  parts: PartRecord[];
  response?: unknown;
  error?: { code: string; message: string; retryable: boolean; details?: unknown };
  fallback_for?: string;
  duplicate_of?: string;
  /** Sent under another message's id: one that died sending this same state (dedup.ts). */
  sent_as?: string;
  /** skipped_obsolete: the message whose newer state of the group the channel received. */
  superseded_by?: string;
  created_at: string;
  updated_at: string;
  sent_at?: string;
}

export interface NotificationIndex {
  message_id: string;
  channels: string[];
  created_at: string;
  updated_at: string;
}

const indexKey = (id: string) => `notification:${id}`;
const deliveryKey = (id: string, channel: string) => `notification:${id}:${channel}`;

export class Records {
  constructor(
    private readonly store: Store,
    private readonly retentionMs: number,
  ) {}

  /** The keys a message's delivery reads: its index and each channel's record (read with the claim). */
  keysOf(id: string, channels: readonly string[]): string[] {
    return [indexKey(id), ...channels.map((c) => deliveryKey(id, c))];
  }

  async getDelivery(id: string, channel: string, batch?: Batch): Promise<DeliveryRecord | null> {
    return readThrough<DeliveryRecord>(this.store, deliveryKey(id, channel), batch);
  }

  async putDelivery(r: DeliveryRecord): Promise<void> {
    await this.store.set(deliveryKey(r.message_id, r.channel), r, { ttlMs: this.retentionMs });
  }

  /** A channel's record as a write to make with others. */
  deliveryWrite(r: DeliveryRecord): Write {
    return { op: "set", key: deliveryKey(r.message_id, r.channel), value: r, ttlMs: this.retentionMs };
  }

  /** Adds channels to the message's index, written with the job's answer (the batch). */
  async putIndex(id: string, channels: string[], at: string, batch: Batch): Promise<void> {
    const old = await readThrough<NotificationIndex>(this.store, indexKey(id), batch);
    const all = [...new Set([...(old?.channels ?? []), ...channels])];
    const index: NotificationIndex = {
      message_id: id,
      channels: all,
      created_at: old?.created_at ?? at,
      updated_at: at,
    };
    batch.defer({ op: "set", key: indexKey(id), value: index, ttlMs: this.retentionMs });
  }

  /** Every delivery of a message, in the order the channels were first tried; null if unknown. */
  async get(id: string): Promise<(NotificationIndex & { deliveries: DeliveryRecord[] }) | null> {
    const index = await this.store.get<NotificationIndex>(indexKey(id));
    if (!index) return null;
    const found = await this.store.mget<DeliveryRecord>(index.channels.map((c) => deliveryKey(id, c)));
    return { ...index, deliveries: found.filter((d): d is DeliveryRecord => d !== null) };
  }
}
