/**
 * Rendering for one channel: picks the template (job → channel → `alert-default`) and the
 * format (a custom template's own, else the job's when the channel can show it, else the
 * channel's), renders with that dialect's escaping, splits to the channel's limit and adds
 * what the channel shows besides the text (email's text alternative, a colour, a link).
 */
import { permanent } from "../errors.ts";
import type { Channel, Message, SendContext, Tone } from "./channels/channel.ts";
import type { Packer } from "./heal.ts";
import { type Notifier, wordsOf } from "./notifier.ts";
import { type Fits, type OutPart, shrinkOne, splitAlerts, splitText } from "./split.ts";
import { findTemplate, type RenderSpec, renderAlerts, renderData, type Template } from "./templates.ts";
import { escapeText, type Format, htmlToText } from "./text.ts";
import { type GroupView, type NotifyInput, partView } from "./view.ts";

export interface RenderOptions {
  template?: string;
  format?: Format;
  title?: string;
}

export interface Plan {
  format: Format;
  template: Template;
  messages: Message[];
}

const TONES: Record<string, Tone> = {
  "🔴": "red",
  "🟠": "orange",
  "🟡": "yellow",
  "🔵": "blue",
  "⚪": "grey",
};

/** The colour of a message: its worst firing severity, green when all are resolved. */
export function toneOf(group: GroupView | undefined): Tone {
  if (!group) return "grey";
  const first = group.all.find((a) => a.firing);
  return first ? (TONES[first.severity_mark] ?? "grey") : "green";
}

export function chooseTemplate(
  n: Notifier,
  ch: Channel,
  opts: RenderOptions,
): { template: Template; format: Format } {
  const name = opts.template ?? ch.cfg.template ?? "alert-default";
  const template = findTemplate(name, n.templates);
  if (!template) throw permanent("unknown_template", `unknown template "${name}"`, { template: name });
  if (!template.builtin) {
    if (!ch.formats.includes(template.format))
      throw permanent(
        "unsupported_format",
        `template "${name}" is ${template.format}; channel ${ch.name} (${ch.type}) shows ${ch.formats.join(" or ")}`,
      );
    return { template, format: template.format };
  }
  const format = opts.format && ch.formats.includes(opts.format) ? opts.format : ch.defaultFormat;
  return { template, format };
}

/** The template, format and escaping a channel renders a job with. */
export function specFor(n: Notifier, ch: Channel, opts: RenderOptions): { spec: RenderSpec; format: Format } {
  const { template, format } = chooseTemplate(n, ch, opts);
  return {
    spec: { template, dialect: ch.dialect(format), escape: ch.escape(format), title: opts.title },
    format,
  };
}

/** Renders and splits the message for one channel. */
export function planFor(
  n: Notifier,
  ch: Channel,
  opts: RenderOptions,
  input: NotifyInput,
  group: GroupView | undefined,
): Plan {
  const { spec, format } = specFor(n, ch, opts);
  const template = spec.template;
  const tone = toneOf(group);
  const { link, linkText } = linkOf(group);
  const limit = ch.limit(format);
  const fits: Fits = limit
    ? (p) => ch.measure({ ...p, format, tone, link, linkText }) <= limit.max
    : () => true;
  const maxParts = ch.cfg.max_parts;
  const parts =
    input.kind === "data" || !group
      ? splitText(renderData(spec, input.kind === "data" ? input.data : {}), fits, maxParts, wordsOf(n, ch))
      : splitAlerts(group, spec, fits, maxParts);
  const messages: Message[] = parts.map((p) =>
    withAlt(ch, format, spec, group, { ...p, format, tone, link, linkText }),
  );
  return { format, template, messages };
}

/** The link a message shows (a button on DingTalk): Alertmanager, else the first alert's graph. */
function linkOf(group: GroupView | undefined): { link?: string; linkText?: string } {
  const link = group ? group.alertmanager_url || group.all[0]?.generator_url || undefined : undefined;
  return link && group ? { link, linkText: group.t.open } : {};
}

/** A message with the text alternative its channel shows beside the format (email's), if any. */
function withAlt<M extends OutPart & { alt?: string }>(
  ch: Channel,
  format: Format,
  spec: RenderSpec,
  group: GroupView | undefined,
  m: M,
): M {
  const altDialect = ch.alternative?.(format);
  if (!altDialect) return m;
  // The same template in text when built in, else the HTML as text.
  m.alt =
    spec.template.builtin && group && m.parts === 1
      ? renderAlerts({ ...spec, dialect: altDialect, escape: escapeText }, partView(group, group.all, 1, 1))
          .body
      : htmlToText(m.body);
  return m;
}

/**
 * Packing for a channel that sends the alerts themselves (webhook) when its receiver refused a
 * part as too large (heal.ts): the alerts at some positions (AlertView.at) in runs whose request
 * is at most a number of bytes, and each run rendered as a numbered part.
 */
export function alertPacker(
  n: Notifier,
  ch: Channel,
  opts: RenderOptions,
  group: GroupView,
  ctx: SendContext,
): Packer {
  const { spec, format } = specFor(n, ch, opts);
  const extras = { format, tone: toneOf(group), ...linkOf(group) };
  const bytes = (p: OutPart) =>
    (ch.requestBytes as NonNullable<Channel["requestBytes"]>)({ ...p, ...extras }, ctx);
  const viewsAt = (at: number[]) => {
    const listed = new Set(at);
    return group.all.filter((a) => listed.has(a.at));
  };
  const fitsIn = (budget: number) => (p: OutPart) => bytes(p) <= budget;
  return {
    // Up to `most` parts: past it the last run is empty (a summary), which repack refuses.
    pack: (at, budget, most) =>
      splitAlerts({ ...group, all: viewsAt(at) }, spec, fitsIn(budget), most).map((p) => p.at ?? []),
    render: (at, part, parts, budget) => {
      const alerts = viewsAt(at);
      const p: OutPart = {
        ...renderAlerts(spec, partView(group, alerts, part, parts)),
        part,
        parts,
        alerts: alerts.length,
        at,
      };
      // An alert alone over the budget has its longest texts shortened, visibly, as for a robot —
      // to half its text at most: its raw alert goes whole, and may be most of the request.
      if (alerts.length === 1 && !fitsIn(budget)(p)) {
        const half = Math.floor(p.body.length / 2);
        const enough = (q: OutPart) => fitsIn(budget)(q) || q.body.length <= half;
        const short = shrinkOne(group, spec, enough, undefined, part, parts, alerts[0]);
        return { ...withAlt(ch, format, spec, group, short), shortened: true };
      }
      return withAlt(ch, format, spec, group, p);
    },
  };
}
