/**
 * The view model templates render: built once per job from the alerts (or an Alertmanager
 * payload), so logic-less Mustache templates only pick fields. Everything a template needs is
 * precomputed here: firing and resolved lists sorted worst first, counts, severity marks and
 * colours, the labels that matter, times in the configured zone, durations, and safe links
 * (graph, runbook, a prefilled Alertmanager silence). `partView` narrows it to one message part.
 */
import { type Alert, type AlertmanagerPayload, alertId, hasEnded, isTime } from "../alerts/alert.ts";
import type { AnalysisBrief } from "../alerts/brief.ts";
import { bidiShown } from "../bidi.ts";
import { clip } from "../clip.ts";
import { formatDurationIn, type Locale, WORDS, type Words } from "./locale.ts";
import { safeUrl } from "./text.ts";
import { formatTime } from "./time.ts";

/** What a job hands the renderer: alerts (maybe with their Alertmanager group), or free data. */
export type NotifyInput =
  | {
      kind: "alerts";
      alerts: Alert[];
      payload?: AlertmanagerPayload;
      /** The latest analysis of a firing alert, by alert id, when one finished since it started. */
      analyses?: Record<string, AnalysisBrief>;
    }
  | { kind: "data"; data: Record<string, unknown> };

export interface Pair {
  name: string;
  value: string;
  /** " · " between items, "" after the last (for one-line lists). */
  sep: string;
}

export interface AlertView {
  /** Its position in the job's alerts: a webhook part sends the raw alerts it lists (heal.ts). */
  at: number;
  id: string;
  fingerprint: string;
  status: "firing" | "resolved";
  firing: boolean;
  resolved: boolean;
  alertname: string;
  severity: string;
  severity_upper: string;
  /** 🔴 critical, 🟠 error, 🟡 warning, 🔵 info, ⚪ other. */
  severity_mark: string;
  /** The severity mark while firing, ✅ once resolved. */
  mark: string;
  /** WeCom `<font color>`: warning (red-orange), comment (grey), info (green). */
  color: string;
  /** A CSS colour for the severity (HTML email), green once resolved. */
  hex: string;
  summary: string;
  description: string;
  /** The description's lines (trailing blank ones dropped): a quote marker on each, where a quote is per line (WeCom). */
  description_lines: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The labels worth reading: not alertname/severity, not the group's common labels. */
  label_list: Pair[];
  has_labels: boolean;
  annotation_list: Pair[];
  instance: string;
  value: string;
  has_value: boolean;
  starts_at: string;
  ends_at: string;
  /** Firing: how long so far; resolved: how long it lasted. */
  duration: string;
  generator_url: string;
  runbook_url: string;
  silence_url: string;
  /** generator_url unless the whole group shares it (then shown once, as shared_graph_url). */
  own_graph_url: string;
  /** summary unless the whole group shares it (then shown once, as shared_summary). */
  own_summary: string;
  has_links: boolean;
  /**
   * The alert's latest analysis while it fires; null without one (or once resolved). `by_rules`:
   * the built-in engine wrote it, not an LLM (the page says so: at 3 a.m. that changes how far to trust it).
   */
  analysis: (AnalysisBrief & { by_rules: boolean }) | null;
}

export interface GroupView {
  status: "firing" | "resolved";
  status_upper: string;
  status_mark: string;
  /** "FIRING:3" / "RESOLVED:2" / "FIRING:2, RESOLVED:1". */
  counts: string;
  count: number;
  firing_count: number;
  resolved_count: number;
  group_name: string;
  /** The default title, without a part number. */
  default_title: string;
  receiver: string;
  group_key: string;
  external_url: string;
  alertmanager_url: string;
  /** A new silence for the whole group (its groupLabels); "" for one alert or without externalURL. */
  silence_all_url: string;
  /** The graph link every alert of the group shares ("" when they differ or there is one alert). */
  shared_graph_url: string;
  /** The summary every alert of the group shares ("" when they differ or there is one alert). */
  shared_summary: string;
  /** The alertname every alert of the group shares, when there is more than one alert ("" otherwise). */
  shared_alertname: string;
  /** The words the templates add, in the group's locale (`{{t.firing}}`). */
  t: Words;
  common_labels: Pair[];
  has_common_labels: boolean;
  truncated_alerts: number;
  notification_reason: string;
  timezone: string;
  generated_at: string;
  /** Every alert, firing first (worst severity first), then resolved (latest first). */
  all: AlertView[];
}

/** What one message part renders: the group plus this part's alerts. */
export interface PartView extends Omit<GroupView, "all"> {
  title: string;
  alerts: AlertView[];
  firing: AlertView[];
  resolved: AlertView[];
  has_firing: boolean;
  has_resolved: boolean;
  part: number;
  parts: number;
  is_multipart: boolean;
  /** Part 1 (or the only part): where a byte-tight dialect puts the group's links, once. */
  first_part: boolean;
  /** On part 1, the sentence saying how many alerts Alertmanager's max_alerts left out, else "". */
  left_out: string;
  /** " (2/5)" when split, else "". */
  part_label: string;
  omitted?: Omitted;
}

/** The last part of a group too large to send whole: what was left out, counted. */
export interface Omitted {
  count: number;
  shown: number;
  by_severity: Pair[];
  by_alertname: Pair[];
  more_alertnames: number;
}

const SEVERITY: [RegExp, number, string, string, string][] = [
  [/^(critical|crit|fatal|emergency|disaster|page|p0|p1)$/i, 0, "🔴", "warning", "#cf222e"],
  [/^(error|err|high|major|p2)$/i, 1, "🟠", "warning", "#bc4c00"],
  [/^(warning|warn|medium|p3)$/i, 2, "🟡", "warning", "#9a6700"],
  [/^(info|information|low|minor|notice|p4|p5)$/i, 3, "🔵", "comment", "#0969da"],
];
const OTHER: (typeof SEVERITY)[number] = [/./, 4, "⚪", "comment", "#6e7781"];
const severityOf = (s: string) => SEVERITY.find(([re]) => re.test(s)) ?? OTHER;

/** Labels shown first, in this order; the rest follow by name. */
const FIRST = ["instance", "job", "namespace", "pod", "container", "node", "service", "cluster", "env"];
const HIDDEN = new Set(["alertname", "severity"]);
/** A description's lines, trailing blank ones dropped (`description_lines`). */
export const linesOf = (text: string): string[] => text.replace(/\s+$/, "").split(/\r\n?|\n/);

const SHOWN_ANNOTATIONS = new Set(["summary", "description", "message", "runbook_url", "runbook"]);

function pairs(map: Record<string, string>, skip: (k: string) => boolean): Pair[] {
  const keys = Object.keys(map)
    .filter((k) => !skip(k) && !k.startsWith("__"))
    .sort((a, b) => {
      const ia = FIRST.indexOf(a);
      const ib = FIRST.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : a > b ? 1 : 0);
    });
  return keys.map((k, i) => ({ name: k, value: oneLine(map[k]), sep: i < keys.length - 1 ? " · " : "" }));
}

/** A value of a `name: value` list (labels, other annotations) on one line: its breaks shown as ↵, so it cannot leave its line (a quote, a list item). */
const oneLine = (v: string): string => (/[\r\n]/.test(v) ? v.replace(/\r\n?|\n/g, " ↵ ") : v);

/** An Alertmanager matcher list `{a="1",b="2"}` for silence and alert links. */
function matchers(labels: Record<string, string>): string {
  const body = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)
    .join(",");
  return `{${body}}`;
}

/**
 * The labels that identify an alert for a silence: alertname and the `keys` it has. When none of
 * them tells it from the rest of its group (a pod alert has no `instance`), all its labels.
 */
function identifying(
  labels: Record<string, string>,
  keys: readonly string[],
  group: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = { alertname: labels.alertname };
  for (const k of keys) if (labels[k] !== undefined) out[k] = labels[k];
  const narrows = Object.keys(out).some((k) => k !== "alertname" && group[k] === undefined);
  return narrows ? out : labels;
}

function alertView(
  a: Alert,
  at: number,
  common: Record<string, string>,
  ctx: {
    tz: string;
    now: number;
    externalUrl: string;
    silenceLabels: readonly string[];
    groupLabels: Record<string, string>;
    locale: Locale;
    analyses: Record<string, AnalysisBrief>;
  },
): AlertView {
  const resolved = a.status === "resolved";
  const sevText = a.labels.severity ?? "";
  const severity = sevText || WORDS[ctx.locale].no_severity;
  const [, , mark, color, hex] = severityOf(sevText);
  const ann = a.annotations ?? {};
  const start = isTime(a.startsAt) ? Date.parse(a.startsAt) : Number.NaN;
  // Resolved without an end: no duration (start to now would read as how long it lasted).
  const end = resolved ? (hasEnded(a) ? Date.parse(a.endsAt as string) : Number.NaN) : ctx.now;
  const labelList = pairs(a.labels, (k) => HIDDEN.has(k) || common[k] === a.labels[k]);
  const generator = safeUrl(a.generatorURL);
  const runbook = safeUrl(ann.runbook_url ?? ann.runbook);
  const silence = ctx.externalUrl
    ? safeUrl(
        `${ctx.externalUrl}/#/silences/new?filter=${encodeURIComponent(matchers(identifying(a.labels, ctx.silenceLabels, ctx.groupLabels)))}`,
      )
    : "";
  const value = a.value === undefined ? "" : String(a.value);
  const id = alertId(a);
  return {
    at,
    id,
    fingerprint: a.fingerprint ?? id,
    status: resolved ? "resolved" : "firing",
    firing: !resolved,
    resolved,
    alertname: a.labels.alertname,
    severity,
    severity_upper: severity.toUpperCase(),
    severity_mark: mark,
    mark: resolved ? "✅" : mark,
    color: resolved ? "info" : color,
    hex: resolved ? "#1a7f37" : hex,
    summary: ann.summary ?? ann.message ?? "",
    description: ann.description ?? "",
    description_lines: linesOf(ann.description ?? ""),
    labels: a.labels,
    annotations: ann,
    label_list: labelList,
    has_labels: labelList.length > 0,
    annotation_list: pairs(ann, (k) => SHOWN_ANNOTATIONS.has(k)),
    instance: a.labels.instance ?? "",
    value,
    has_value: value !== "",
    starts_at: isTime(a.startsAt) ? formatTime(a.startsAt, ctx.tz) : "",
    ends_at: resolved && hasEnded(a) ? formatTime(a.endsAt, ctx.tz) : "",
    // A start ahead of this clock (a skewed sender) has fired for no time yet.
    duration:
      Number.isFinite(start) && Number.isFinite(end)
        ? formatDurationIn(Math.max(0, end - start), ctx.locale)
        : "",
    generator_url: generator,
    runbook_url: runbook,
    silence_url: silence,
    own_graph_url: generator,
    own_summary: ann.summary ?? ann.message ?? "",
    has_links: !!(generator || runbook || silence),
    analysis: briefOf(resolved ? undefined : ctx.analyses[id]),
  };
}

/** Labels every alert shares (Alertmanager sends them as commonLabels; a bare list is computed). */
function commonLabelsOf(alerts: Alert[]): Record<string, string> {
  if (alerts.length === 0) return {};
  const out: Record<string, string> = { ...alerts[0].labels };
  for (const a of alerts.slice(1))
    for (const k of Object.keys(out)) if (a.labels[k] !== out[k]) delete out[k];
  return out;
}

const rank = (v: AlertView) => severityOf(v.severity)[1];

/** Builds the group view once per job. */
export function buildView(
  input: Extract<NotifyInput, { kind: "alerts" }>,
  opts: { timezone: string; now: number; silenceLabels?: readonly string[]; locale?: Locale },
): GroupView {
  const locale = opts.locale ?? "en";
  const t = WORDS[locale];
  const p = input.payload;
  const alerts = input.alerts;
  const common = p && Object.keys(p.commonLabels).length ? p.commonLabels : commonLabelsOf(alerts);
  // With one alert its labels are all "common": show them on the alert, not as a header.
  const shared = alerts.length > 1 ? common : {};
  const externalUrl = (p?.externalURL ?? "").replace(/\/+$/, "");
  // A Silence link filters on what identifies the alert, not on every label: Chinese label values
  // make a full filter several hundred bytes, and robots measure bytes.
  const silenceLabels = opts.silenceLabels ?? [...Object.keys(p?.groupLabels ?? {}), "instance"];
  const ctx = {
    tz: opts.timezone,
    now: opts.now,
    externalUrl,
    silenceLabels,
    groupLabels: p?.groupLabels ?? {},
    locale,
    analyses: input.analyses ?? {},
  };
  const views = alerts.map((a, i) => alertView(a, i, shared, ctx));
  const firing = views
    .filter((v) => v.firing)
    .sort((a, b) => rank(a) - rank(b) || cmp(a.alertname, b.alertname) || cmp(a.starts_at, b.starts_at));
  const resolved = views.filter((v) => v.resolved).sort((a, b) => cmp(b.ends_at, a.ends_at));
  const status = firing.length > 0 ? "firing" : "resolved";
  const counts = [
    firing.length ? `${t.FIRING}:${firing.length}` : "",
    resolved.length ? `${t.RESOLVED}:${resolved.length}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const groupName = nameOf(views, p, t);
  const statusMark = firing.length ? firing[0].severity_mark : "✅";
  const groupLabels = p?.groupLabels ?? {};
  // The group's alerts in Alertmanager: by its groupLabels, else by receiver (not both: a Chinese
  // receiver name costs ~60 bytes a message and narrows nothing the groupLabels do not).
  const amUrl = externalUrl
    ? safeUrl(
        Object.keys(groupLabels).length
          ? `${externalUrl}/#/alerts?filter=${encodeURIComponent(matchers(groupLabels))}`
          : `${externalUrl}/#/alerts?receiver=${encodeURIComponent(p?.receiver ?? "")}`,
      )
    : "";
  const commonList = pairs(shared, (k) => HIDDEN.has(k));
  // One link silences the whole group: its groupLabels (alertname when there are none).
  const groupMatch = Object.keys(groupLabels).length ? groupLabels : { alertname: views[0]?.alertname ?? "" };
  const silenceAll =
    externalUrl && views.length > 1
      ? safeUrl(`${externalUrl}/#/silences/new?filter=${encodeURIComponent(matchers(groupMatch))}`)
      : "";
  // Alerts of one rule share their graph: a compact dialect (WeCom) shows it once, not per alert.
  const graphs = new Set(views.map((v) => v.generator_url));
  const sharedGraph = views.length > 1 && graphs.size === 1 ? views[0].generator_url : "";
  const summaries = new Set(views.map((v) => v.summary));
  const sharedSummary = views.length > 1 && summaries.size === 1 ? views[0].summary : "";
  for (const v of views) {
    v.own_graph_url = sharedGraph ? "" : v.generator_url;
    v.own_summary = sharedSummary ? "" : v.summary;
  }
  return {
    silence_all_url: silenceAll,
    shared_graph_url: sharedGraph,
    shared_summary: sharedSummary,
    // Only when the title names it (the group is by alertname): else a block must say it.
    shared_alertname:
      views.length > 1 && groupLabels.alertname && views.every((v) => v.alertname === groupLabels.alertname)
        ? groupLabels.alertname
        : "",
    status,
    status_upper: status.toUpperCase(),
    status_mark: statusMark,
    counts,
    count: views.length,
    firing_count: firing.length,
    resolved_count: resolved.length,
    group_name: groupName,
    default_title: `${statusMark} [${counts || t.no_alerts}] ${groupName}`.trim(),
    t,
    // Alertmanager sends receiver names regex-escaped; show them as written.
    receiver: (p?.receiver ?? "").replace(/\\(.)/g, "$1"),
    group_key: p?.groupKey ?? "",
    external_url: safeUrl(externalUrl),
    alertmanager_url: amUrl,
    common_labels: commonList,
    has_common_labels: commonList.length > 0,
    truncated_alerts: p?.truncatedAlerts ?? 0,
    notification_reason: p?.notification_reason ?? "",
    timezone: opts.timezone,
    generated_at: formatTime(opts.now, opts.timezone),
    all: [...firing, ...resolved],
  };
}

function nameOf(views: AlertView[], p: AlertmanagerPayload | undefined, t: Words): string {
  const grouped = p ? Object.values(p.groupLabels).filter(Boolean) : [];
  if (grouped.length) return grouped.join(" ");
  const names = [...new Set(views.map((v) => v.alertname))];
  if (names.length <= 1) return names[0] ?? "";
  return `${names[0]} +${names.length - 1} ${t.more}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The most characters of a title: a headline. A group label copied from a log line made a title of
 * kilobytes, and WeCom refuses a message over 4096 bytes whatever the split (docs/notifications.md).
 */
export const TITLE_MAX = 200;

/** A title cut to `max` characters around its part label, which stays whole. */
export function cutTitle(title: string, partLabel: string, max = TITLE_MAX): string {
  if (title.length <= max) return title;
  const at = partLabel ? title.lastIndexOf(partLabel.trim()) : -1;
  if (at < 0) return clip(title, max);
  const label = title.slice(at, at + partLabel.trim().length);
  const after = clip(title.slice(at + label.length), max / 4);
  return `${clip(title.slice(0, at).trimEnd(), max - label.length - after.length - 1)} ${label}${after}`;
}

/** The view of one part: the group with `alerts` (a slice of group.all) and the part number. */
export function partView(
  group: GroupView,
  alerts: AlertView[],
  part: number,
  parts: number,
  title?: string,
  omitted?: Omitted,
): PartView {
  const { all: _, ...rest } = group;
  const firing = alerts.filter((a) => a.firing);
  const resolved = alerts.filter((a) => a.resolved);
  const partLabel = parts > 1 ? ` (${part}/${parts})` : "";
  return {
    ...rest,
    // Bidi controls shown before the cut, so the shown title keeps to TITLE_MAX (src/bidi.ts).
    title: cutTitle(bidiShown(title ?? group.default_title) + partLabel, partLabel),
    alerts,
    firing,
    resolved,
    has_firing: firing.length > 0,
    has_resolved: resolved.length > 0,
    part,
    parts,
    is_multipart: parts > 1,
    first_part: part === 1,
    left_out: part === 1 && group.truncated_alerts ? group.t.left_out(group.truncated_alerts) : "",
    part_label: partLabel,
    omitted,
  };
}

/** Counts of the alerts a capped group leaves out, by severity and by alertname (top 10). */
export function omittedOf(rest: AlertView[], shown: number, t: Words = WORDS.en): Omitted {
  const count = (key: (a: AlertView) => string) => {
    const m = new Map<string, number>();
    for (const a of rest) m.set(key(a), (m.get(key(a)) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
  };
  // Worst severity first (resolved last, in the locale's word), whatever the counts.
  const RESOLVED = "\u0000resolved";
  const sevRank = (name: string) => (name === RESOLVED ? 9 : severityOf(name)[1]);
  const sev = count((a) => (a.resolved ? RESOLVED : a.severity))
    .sort((x, y) => sevRank(x[0]) - sevRank(y[0]))
    .map(([name, n]): [string, number] => [name === RESOLVED ? t.resolved.toLowerCase() : name, n]);
  const names = count((a) => a.alertname);
  const top = names.slice(0, 10);
  const list = (l: [string, number][]): Pair[] =>
    l.map(([name, n], i) => ({ name, value: String(n), sep: i < l.length - 1 ? " · " : "" }));
  return {
    count: rest.length,
    shown,
    by_severity: list(sev),
    by_alertname: list(top),
    more_alertnames: names.length - top.length,
  };
}

function briefOf(brief: AnalysisBrief | undefined): AlertView["analysis"] {
  return brief ? { ...brief, by_rules: brief.engine === "builtin" } : null;
}
