/**
 * Rendering for one channel: picks the template (job → channel → `alert-default`) and the
 * format (a custom template's own, else the job's when the channel can show it, else the
 * channel's), renders with that dialect's escaping, splits to the channel's limit and adds
 * what the channel shows besides the text (email's text alternative, a colour, a link).
 */
import { permanent } from "../errors.ts";
import type { Channel, Message, Tone } from "./channels/channel.ts";
import type { Notifier } from "./notifier.ts";
import { type Fits, splitAlerts, splitText } from "./split.ts";
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
  const link = group ? group.alertmanager_url || group.all[0]?.generator_url || undefined : undefined;
  const linkText = link && group ? group.t.open : undefined;
  const limit = ch.limit(format);
  const fits: Fits = limit
    ? (p) => ch.measure({ ...p, format, tone, link, linkText }) <= limit.max
    : () => true;
  const maxParts = ch.cfg.max_parts;
  const parts =
    input.kind === "data" || !group
      ? splitText(renderData(spec, input.kind === "data" ? input.data : {}), fits, maxParts)
      : splitAlerts(group, spec, fits, maxParts);
  const altDialect = ch.alternative?.(format);
  const messages: Message[] = parts.map((p) => {
    const m: Message = { ...p, format, tone, link, linkText };
    if (!altDialect) return m;
    // The text alternative of an email: the same template in text when built in, else the HTML as text.
    m.alt =
      template.builtin && group && p.parts === 1
        ? renderAlerts({ ...spec, dialect: altDialect, escape: escapeText }, partView(group, group.all, 1, 1))
            .body
        : htmlToText(p.body);
    return m;
  });
  return { format, template, messages };
}
