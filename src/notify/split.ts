/**
 * Splitting a message that is over a channel's size limit (docs/contracts.md#dingtalk-robot) into numbered parts
 * that each fit, at alert boundaries — never cut silently and never rejected by the robot.
 * A group that would need more than `max_parts` parts is sent as `max_parts - 1` parts of
 * alerts and a last part that counts what was left out (by severity and alertname) and links
 * to Alertmanager. A single alert too large for one message has its longest texts shortened
 * with a visible "[truncated]" marker; free text (custom `data`) is split at line boundaries.
 */

import { WORDS, type Words } from "./locale.ts";
import { type Rendered, type RenderSpec, renderAlerts, renderSummary } from "./templates.ts";
import { NOT_LINK_URL, urlAcross, urlEnd } from "./text.ts";
import { type AlertView, type GroupView, linesOf, omittedOf, type PartView, partView } from "./view.ts";

/** One message as a channel sends it. */
export interface OutPart extends Rendered {
  part: number;
  parts: number;
  /** Alerts listed in this part (0 for a summary or free text). */
  alerts: number;
  /** The positions in the job's alerts of those listed (AlertView.at): what a webhook part carries. */
  at?: number[];
}

/** Whether a part is within the channel's limit (the channel measures its own request). */
export type Fits = (p: OutPart) => boolean;

/** Width of the part numbers while packing ("(1/99)"): the final numbers are never wider. */
const PROBE_PARTS = 99;
/** The marker where a text was cut, in the page's words (English for free text: it has no locale). */
const markOf = (t: Words = WORDS.en) => ` … ${t.truncated}`;

export function splitAlerts(
  group: GroupView,
  spec: RenderSpec,
  fits: Fits,
  maxParts: number,
  title?: string,
): OutPart[] {
  const all = group.all;
  const make = (alerts: AlertView[], part: number, parts: number): OutPart => ({
    ...renderAlerts(spec, partView(group, alerts, part, parts, title)),
    part,
    parts,
    alerts: alerts.length,
    at: alerts.map((a) => a.at),
  });
  const whole = make(all, 1, 1);
  if (fits(whole)) return [whole];
  if (all.length === 0) return [hardCut(whole, fits, markOf(group.t))];
  if (all.length === 1) return [shrinkOne(group, spec, fits, title, 1, 1)];

  // Greedy packing: the most alerts that fit, found by doubling then bisecting.
  const ranges: [number, number][] = [];
  let i = 0;
  while (i < all.length && ranges.length < maxParts) {
    const ok = (k: number) => fits(make(all.slice(i, i + k), ranges.length + 1, PROBE_PARTS));
    let k = 0;
    if (ok(1)) {
      let lo = 1;
      let hi = 2;
      while (i + hi <= all.length && ok(hi)) {
        lo = hi;
        hi *= 2;
      }
      hi = Math.min(hi, all.length - i + 1);
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (ok(mid)) lo = mid;
        else hi = mid;
      }
      k = lo;
    }
    ranges.push([i, i + Math.max(1, k)]);
    i += Math.max(1, k);
  }

  const capped = i < all.length;
  const kept = capped ? ranges.slice(0, maxParts - 1) : ranges;
  const total = capped ? maxParts : ranges.length;
  const out: OutPart[] = kept.map(([a, b], n) => {
    const p = make(all.slice(a, b), n + 1, total);
    return fits(p) ? p : shrinkOne(group, spec, fits, title, n + 1, total, all[a]);
  });
  if (capped) {
    const from = kept.length ? kept[kept.length - 1][1] : 0;
    out.push(summaryPart(group, spec, fits, title, all.slice(from), from, total));
  }
  return out;
}

/** The last part of a capped group: counts of the alerts left out. */
function summaryPart(
  group: GroupView,
  spec: RenderSpec,
  fits: Fits,
  title: string | undefined,
  rest: AlertView[],
  shown: number,
  total: number,
): OutPart {
  const omitted = omittedOf(rest, shown, group.t);
  for (const keep of [10, 3, 0]) {
    const view: PartView = partView(group, [], total, total, title, {
      ...omitted,
      by_alertname: omitted.by_alertname.slice(0, keep),
      more_alertnames: omitted.more_alertnames + Math.max(0, omitted.by_alertname.length - keep),
    });
    const p = { ...renderSummary(spec, view), part: total, parts: total, alerts: 0, at: [] };
    if (fits(p) || keep === 0) return fits(p) ? p : hardCut(p, fits, markOf(group.t));
  }
  throw new Error("unreachable");
}

/** One alert alone is too large: shorten its longest texts until it fits, visibly (also heal.ts, through render.ts). */
export function shrinkOne(
  group: GroupView,
  spec: RenderSpec,
  fits: Fits,
  title: string | undefined,
  part: number,
  parts: number,
  alert: AlertView = group.all[0],
): OutPart {
  const make = (a: AlertView): OutPart => ({
    ...renderAlerts(spec, partView(group, [a], part, parts, title)),
    part,
    parts,
    alerts: 1,
    at: [a.at],
  });
  let a: AlertView = { ...alert, labels: { ...alert.labels }, annotations: { ...alert.annotations } };
  for (let round = 0; round < 24; round++) {
    const p = make(a);
    if (fits(p)) return p;
    a = shortenLongest(a, markOf(group.t));
  }
  return hardCut(make(a), fits, markOf(group.t));
}

/** Halves the longest free text of an alert (description, summary, a label or annotation value). */
function shortenLongest(a: AlertView, mark: string): AlertView {
  const fields: { set: (v: string) => AlertView; value: string }[] = [
    // The lines too: a template that quotes them line by line (WeCom's) shows those.
    { value: a.description, set: (v) => ({ ...a, description: v, description_lines: linesOf(v) }) },
    { value: a.summary, set: (v) => ({ ...a, summary: v, own_summary: a.own_summary ? v : "" }) },
    ...a.label_list.map((l, i) => ({
      value: l.value,
      set: (v: string) => ({
        ...a,
        label_list: a.label_list.map((x, j) => (j === i ? { ...x, value: v } : x)),
      }),
    })),
    ...a.annotation_list.map((l, i) => ({
      value: l.value,
      set: (v: string) => ({
        ...a,
        annotation_list: a.annotation_list.map((x, j) => (j === i ? { ...x, value: v } : x)),
      }),
    })),
  ];
  fields.sort((x, y) => y.value.length - x.value.length);
  const f = fields[0];
  if (!f || f.value.length <= mark.length + 8) return a;
  const base = f.value.endsWith(mark) ? f.value.slice(0, -mark.length) : f.value;
  return f.set(unbroken(base.slice(0, Math.floor(base.length / 2)), base) + mark);
}

/** Last resort: the body cut at a line (or character) boundary, with a visible marker. */
function hardCut(p: OutPart, fits: Fits, mark = markOf()): OutPart {
  let body = p.body;
  while (body.length > 0) {
    body = cutTenth(body, p.body);
    const c = { ...p, body: `${body}\n${mark.trim()}` };
    if (fits(c)) return c;
  }
  return { ...p, body: mark.trim() };
}

/**
 * About nine tenths of `body` (the start of `whole`, the text before any cut), cut at a line if one
 * is in the last half, else between characters (unbroken).
 */
function cutTenth(body: string, whole: string): string {
  const at = Math.floor(body.length * 0.9);
  const nl = body.lastIndexOf("\n", at);
  return nl > body.length / 2 ? body.slice(0, nl) : unbroken(body.slice(0, at), whole);
}

/**
 * `cut`, a start of `whole`, without a link or a URL the cut went through (a markdown link's
 * `[text](…`, a bare `https://…`, a Slack `<url|` or an HTML `<a href="…`), which would open
 * nothing, nor half a surrogate pair. Found with lastIndexOf and anchored character classes, not
 * a searching pattern: a hostile line of brackets must not make this quadratic.
 */
function unbroken(text: string, whole: string): string {
  const cut = text.replace(/[\uD800-\uDBFF]$/, "");
  const line = cut.lastIndexOf("\n") + 1;
  // A `](` after an odd number of backslashes is escaped text, not a link.
  const escaped = (at: number) => {
    let n = 0;
    while (at - n - 1 >= line && cut[at - n - 1] === "\\") n++;
    return n % 2 === 1;
  };
  const link = cut.lastIndexOf("](");
  if (link >= line && !escaped(link)) {
    // The link's URL (no `)` in it) runs on past the cut, and is not longer than a link is.
    if (urlEnd(whole, link + 2, NOT_LINK_URL) > cut.length) {
      const open = cut.lastIndexOf("[", link);
      return cut.slice(0, open >= line && !escaped(open) ? open : link);
    }
  }
  const start = urlAcross(whole, cut.length, line);
  return start < 0 ? cut : cut.slice(0, start).replace(/<(a\s+href=["']?)?$/i, "");
}

/**
 * The largest n in [least, most] for which `ok(n)` holds, `ok` holding up to some n and not after
 * (more lines, more bytes); `least` is taken whatever `ok` says. Galloping, then halving.
 */
function mostThatFit(most: number, least: number, ok: (n: number) => boolean): number {
  let good = least;
  let step = 1;
  while (good + step <= most && ok(good + step)) {
    good += step;
    step *= 2;
  }
  let bad = Math.min(good + step, most + 1);
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    if (ok(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/** Free text (a custom template over `data`): split at line boundaries into numbered parts. */
export function splitText(r: Rendered, fits: Fits, maxParts: number, t: Words = WORDS.en): OutPart[] {
  const whole: OutPart = { ...r, part: 1, parts: 1, alerts: 0 };
  if (fits(whole)) return [whole];
  const probe = (body: string, n: number): OutPart => ({
    title: `${r.title} (${n}/${PROBE_PARTS})`,
    body,
    part: n,
    parts: PROBE_PARTS,
    alerts: 0,
  });
  // Lines too long for any part are cut first, so every chunk below is made of whole lines.
  const lines = r.body
    .split("\n")
    .flatMap((line) => (fits(probe(line, 1)) ? [line] : [hardCut(probe(line, 1), fits, markOf(t)).body]));
  // Each part takes as many whole lines as fit (at least one), found in a logarithmic number of
  // tries: line by line, 300,000 short lines took 22 s.
  const chunks: string[][] = [];
  for (let i = 0; i < lines.length; ) {
    const n = mostThatFit(lines.length - i, 1, (k) =>
      fits(probe(lines.slice(i, i + k).join("\n"), chunks.length + 1)),
    );
    chunks.push(lines.slice(i, i + n));
    i += n;
  }
  if (chunks.length > maxParts) {
    // The last part takes what fits with a note of how much was left out.
    const rest = chunks.slice(maxParts - 1).flat();
    const note = (left: number) => t.lines_left_out(left, maxParts);
    const kept = mostThatFit(rest.length, 0, (k) =>
      fits(probe([...rest.slice(0, k), note(rest.length - k)].join("\n"), maxParts)),
    );
    chunks.length = maxParts - 1;
    chunks.push([...rest.slice(0, kept), note(rest.length - kept)]);
  }
  const n = chunks.length;
  return chunks.map((c, i) => {
    const p: OutPart = {
      title: `${r.title} (${i + 1}/${n})`,
      body: c.join("\n"),
      part: i + 1,
      parts: n,
      alerts: 0,
    };
    return fits(p) ? p : hardCut(p, fits, markOf(t));
  });
}
