/**
 * A robot that still answers "too long" for a part (its measure differs from ours: DingTalk
 * 460101, WeCom 45002/40058, Feishu 19036/11246, Slack msg_too_long/invalid_blocks): that part
 * is split again at line boundaries with a budget 30% under what was refused, at most twice,
 * and the pieces are sent instead of failing the job (docs/notifications.md, "Size limits and
 * splitting").
 */

import type { Channel, Message } from "./channels/channel.ts";
import type { Words } from "./locale.ts";
import type { PartRecord } from "./records.ts";
import { splitText } from "./split.ts";

const MAX_RESPLITS = 2;

/**
 * The refused part as smaller pieces, or undefined when it cannot be made smaller. One piece is
 * enough when a line too long for the smaller budget was cut (the excess was one long line): the
 * page arrives shortened, marked in `t`'s words, rather than not at all.
 */
export function splitSmaller(ch: Channel, part: PartRecord, m: Message, t: Words): PartRecord[] | undefined {
  const depth = part.resplit ?? 0;
  if (depth >= MAX_RESPLITS) return undefined;
  const budget = Math.floor(ch.measure(m) * 0.7);
  // The pieces keep the part's number, only the text is cut; only the first may mention people.
  const as = (p: { title: string; body: string }): Message => ({ ...m, title: p.title, body: p.body });
  const pieces = splitText({ title: part.title, body: part.body }, (p) => ch.measure(as(p)) <= budget, 20, t);
  if (pieces.length === 1 && ch.measure(as(pieces[0])) >= ch.measure(m)) return undefined;
  return pieces.map((p, k) => ({
    ...part,
    title: p.title,
    body: p.body,
    alerts: 0,
    size: ch.measure(as(p)),
    sent: false,
    resplit: depth + 1,
    ...(k > 0 ? { quiet: true } : {}),
  }));
}

/** How a channel that sends the alerts themselves packs them (render.ts alertPacker). */
export interface Packer {
  /** The alerts at positions `at` in at most `most` runs whose request is at most `budget` bytes (an empty last run: more were needed). */
  pack(at: number[], budget: number, most: number): number[][];
  /** The part listing the alerts at `at`, numbered `part` of `parts`; a lone alert over `budget` shortened. */
  render(
    at: number[],
    part: number,
    parts: number,
    budget: number,
  ): { title: string; body: string; alt?: string; shortened?: boolean };
}

/**
 * A receiver that refused part `i` as too large (a webhook's 413: its body carries the alerts
 * themselves, so cutting the text would not help). The alerts of every part not sent yet are
 * packed again, in order, into requests of at most half the refused size, and rendered with their
 * new numbers. Parts before `i` were sent and keep theirs, so no Idempotency-Key a receiver has
 * seen goes to another part. The whole list, or why it cannot be made smaller.
 */
export function repack(
  parts: PartRecord[],
  i: number,
  allAt: number[],
  refusedBytes: number,
  maxParts: number,
  packer: Packer,
): PartRecord[] | string {
  // A message never split lists every alert.
  const atOf = (p: PartRecord) => p.at ?? (parts.length === 1 ? allAt : undefined);
  const unsent = parts.slice(i).map(atOf);
  if (unsent.some((at) => !at)) return "its parts do not say which alerts they list";
  const refused = parts[i];
  // One alert, already shortened to fit half of a request refused before: nothing more to cut.
  if ((unsent[0]?.length ?? 0) < 2 && refused.shortened)
    return "one alert alone is over the receiver's limit";
  const budget = Math.floor(refusedBytes / 2);
  const lists = packer.pack((unsent as number[][]).flat(), budget, maxParts - i);
  if (lists.some((l) => l.length === 0)) return `it would take more than max_parts (${maxParts})`;
  const total = i + lists.length;
  const { alt: _, shortened: __, ...like } = refused;
  return [
    ...parts.slice(0, i),
    ...lists.map((at, k): PartRecord => {
      const r = packer.render(at, i + k + 1, total, budget);
      return {
        ...like,
        ...r,
        part: i + k + 1,
        parts: total,
        alerts: at.length,
        at,
        size: r.body.length,
        sent: false,
      };
    }),
  ];
}
