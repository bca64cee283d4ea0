/**
 * What a notification channel is: the formats it renders, how values are escaped there, its
 * size limit and how it measures a message against it, which robot's rate budget it spends,
 * and how it sends one message part (throwing a JobError that says permanent, transient or
 * rate-limited). One file per channel type implements it (dingtalk.ts, wecom.ts, …).
 */
import type { Alert, AlertmanagerPayload } from "../../alerts/alert.ts";
import type { ChannelConfig } from "../../config/schema.ts";
import type { Rate } from "../../config/units.ts";
import type { Fetch, TcpConnect } from "../../ports.ts";
import type { Logger } from "../../telemetry/logger.ts";
import type { Dialect } from "../defaults.ts";
import type { OutPart } from "../split.ts";
import type { Escape, Format } from "../text.ts";

export type ChannelType = ChannelConfig["type"];

/** Colour of a message (Feishu card header): the worst firing severity, green once resolved. */
export type Tone = "red" | "orange" | "yellow" | "blue" | "green" | "grey";

/** One part as a channel sends it: the rendered text plus what some channels show besides. */
export interface Message extends OutPart {
  format: Format;
  /** The text/plain alternative (email). */
  alt?: string;
  /** A link for a button (DingTalk actionCard): Alertmanager, else the first alert's graph. */
  link?: string;
  /** The button's caption, in the channel's locale. */
  linkText?: string;
  tone: Tone;
  /** A later piece of a part split again (heal.ts): it wakes nobody again. */
  quiet?: boolean;
  /** The first part sent after the first part was refused for good (stages.ts): it wakes people instead. */
  wake?: boolean;
  /** Recipients that have this message already (email: a retry mails only the others). */
  sent_to?: string[];
}

export interface Limit {
  max: number;
  unit: "bytes" | "chars";
}

/** What a send may use: all injected, nothing global. */
export interface SendContext {
  fetch: Fetch;
  now: () => number;
  tcp?: TcpConnect;
  logger: Logger;
  messageId: string;
  /**
   * The id a receiver drops repeats by (Idempotency-Key, Message-ID): this message's, or that of
   * a message that died sending this same group state (docs/notifications.md, "Alertmanager repeats").
   */
  sendAs: string;
  /** The job's alerts (and Alertmanager group) or data, for channels that forward them. */
  alerts?: Alert[];
  payload?: AlertmanagerPayload;
  data?: Record<string, unknown>;
}

export interface Channel {
  readonly name: string;
  readonly type: ChannelType;
  readonly cfg: ChannelConfig;
  /** Formats this channel can show; a job's `format` outside them falls back to the default. */
  readonly formats: readonly Format[];
  readonly defaultFormat: Format;
  dialect(format: Format): Dialect;
  escape(format: Format): Escape;
  /** The text/plain alternative rendered besides a format (email's HTML), if any. */
  alternative?(format: Format): Dialect | undefined;
  /** The size budget of one message in this format; undefined: no limit. */
  limit(format: Format): Limit | undefined;
  /** The size of what `send` would post, in the limit's unit. */
  measure(m: Message): number;
  /**
   * The bytes of the request `send` would make, for a channel that sends the alerts themselves
   * with each part (webhook): a part its receiver refuses as too large is packed again by its
   * alerts to this measure (heal.ts), since cutting its text would leave them all in the request.
   */
  requestBytes?(m: Message, ctx: SendContext): number;
  /** The rate-limit identity (the robot: one per webhook URL); undefined: not limited. */
  readonly robot?: string;
  readonly rates: readonly Rate[];
  /** Sends one part; resolves with the downstream answer, throws a JobError. */
  send(m: Message, ctx: SendContext): Promise<unknown>;
}

/** The configured rate, or the channel type's default budget. */
export function ratesOf(cfg: ChannelConfig, defaults: Rate[]): Rate[] {
  return cfg.rate ? [cfg.rate] : defaults;
}

export const PER_MINUTE = (limit: number): Rate => ({ limit, periodMs: 60_000 });

/** Whether a message wakes people: its first part only (once), and an all-clear only when asked. */
export const wakes = (m: Message, onResolved: boolean): boolean =>
  ((m.part === 1 && !m.quiet) || m.wake === true) && (m.tone !== "green" || onResolved);

/**
 * `text` with one of a robot's security keywords: as it is when it has one, else with the first
 * on a line of its own (an all-clear in zh-CN says 恢复, never 告警; docs/notifications.md).
 */
export function withKeyword(text: string, keywords: readonly string[]): string {
  return keywords.length === 0 || keywords.some((k) => text.includes(k)) ? text : `${text}\n\n${keywords[0]}`;
}
export const PER_SECOND = (limit: number): Rate => ({ limit, periodMs: 1000 });
