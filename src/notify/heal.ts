/**
 * A robot that still answers "too long" for a part (its measure differs from ours: DingTalk
 * 460101, WeCom 45002/40058, Feishu 19036/11246, Slack msg_too_long/invalid_blocks): that part
 * is split again at line boundaries with a budget 30% under what was refused, at most twice,
 * and the pieces are sent instead of failing the job (docs/notifications.md, "Size limits and
 * splitting").
 */
import type { Channel, Message } from "./channels/channel.ts";
import type { PartRecord } from "./records.ts";
import { splitText } from "./split.ts";

const MAX_RESPLITS = 2;

/** The refused part as smaller pieces, or undefined when it cannot be split again. */
export function splitSmaller(ch: Channel, part: PartRecord, m: Message): PartRecord[] | undefined {
  const depth = part.resplit ?? 0;
  if (depth >= MAX_RESPLITS) return undefined;
  const budget = Math.floor(ch.measure(m) * 0.7);
  // The pieces keep the part's number (a mention goes with part 1), only the text is cut.
  const as = (p: { title: string; body: string }): Message => ({ ...m, title: p.title, body: p.body });
  const pieces = splitText({ title: part.title, body: part.body }, (p) => ch.measure(as(p)) <= budget, 20);
  if (pieces.length < 2) return undefined;
  return pieces.map((p) => ({
    ...part,
    title: p.title,
    body: p.body,
    alerts: 0,
    size: ch.measure(as(p)),
    sent: false,
    resplit: depth + 1,
  }));
}
