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

/** Renders the part listing exactly `ids`, numbered `part` of `parts` (render.ts partRenderer). */
export type RenderIds = (
  ids: string[],
  part: number,
  parts: number,
) => { title: string; body: string; alt?: string };

/**
 * A receiver that refused part `i` as too large (a webhook's 413: its body carries the alerts
 * themselves, so cutting the text would not help). Every part not sent yet is cut by its alerts
 * into pieces of at most half the refused part's size — the refused one in two; the others are as
 * likely refused — and rendered again with their new numbers. The parts before `i` were sent and
 * keep theirs, so no Idempotency-Key a receiver has seen goes to another part. The whole list,
 * or undefined when the refused part lists one alert or `maxParts` would be passed.
 */
export function halveByAlerts(
  parts: PartRecord[],
  i: number,
  allIds: string[],
  maxParts: number,
  render: RenderIds,
): PartRecord[] | undefined {
  const refused = parts[i];
  const unsent = parts.slice(i);
  // A message never split lists every alert; later parts of one always name theirs.
  const idsOf = (p: PartRecord) => p.ids ?? (parts.length === 1 ? allIds : undefined);
  if ((idsOf(refused)?.length ?? 0) < 2 || unsent.some((p) => !idsOf(p))) return undefined;
  const budget = Math.max(1, refused.size / 2);
  const lists = unsent.flatMap((p) => chunks(idsOf(p) as string[], Math.ceil(p.size / budget)));
  const total = i + lists.length;
  if (total > maxParts) return undefined;
  const { alt: _, ...like } = refused;
  return [
    ...parts.slice(0, i),
    ...lists.map((listed, k): PartRecord => {
      const r = render(listed, i + k + 1, total);
      return {
        ...like,
        ...r,
        part: i + k + 1,
        parts: total,
        alerts: listed.length,
        ids: listed,
        size: r.body.length,
        sent: false,
      };
    }),
  ];
}

/** `ids` in `n` runs of nearly equal length (at least one id each). */
function chunks(ids: string[], n: number): string[][] {
  const k = Math.min(ids.length, Math.max(1, n));
  return Array.from({ length: k }, (_, j) =>
    ids.slice(Math.floor((j * ids.length) / k), Math.floor(((j + 1) * ids.length) / k)),
  );
}
