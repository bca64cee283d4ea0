/**
 * Templates: the built-in sets (defaults.ts) and custom ones from config (`templates:`), and
 * rendering with Mustache. Every `{{value}}` goes through the escaping of the output dialect,
 * so a custom template gets it right without thinking about it; `{{{raw}}}` is for the
 * pre-sanitised URLs. Custom bodies may use the built-in `{{> alert}}` block of their dialect.
 */
import Mustache from "mustache";
import { bidiShown } from "../bidi.ts";
import type { Config } from "../config/schema.ts";
import { ConfigError, permanent } from "../errors.ts";
import {
  type BuiltinName,
  builtinTemplate,
  type Dialect,
  HTML_PARTIALS,
  isBuiltin,
  type TemplateSet,
} from "./defaults.ts";
import type { Escape } from "./text.ts";
import { cutTitle, type PartView } from "./view.ts";

export type CustomTemplate = Config["templates"][string];

/** A template a channel renders with: a built-in set, or a custom one with its own format. */
export type Template =
  | { name: BuiltinName; builtin: true }
  | ({ name: string; builtin: false } & CustomTemplate);

export interface Rendered {
  title: string;
  body: string;
}

/** What rendering needs besides the view: the template, the dialect and its escaping. */
export interface RenderSpec {
  template: Template;
  dialect: Dialect;
  escape: Escape;
  /** The job's `title` (itself a template), overriding the template's. */
  title?: string;
}

/** Looks a template up by name; undefined when there is none. */
export function findTemplate(name: string, custom: Config["templates"]): Template | undefined {
  if (custom[name]) return { name, builtin: false, ...custom[name] };
  if (isBuiltin(name)) return { name, builtin: true };
  return undefined;
}

/** Parses every custom template at start-up so a syntax error names its path. */
export function checkTemplates(custom: Config["templates"]): void {
  const issues: { path: string; message: string }[] = [];
  for (const [name, t] of Object.entries(custom)) {
    for (const field of ["title", "body"] as const) {
      try {
        Mustache.parse(t[field]);
      } catch (e) {
        issues.push({ path: `templates.${name}.${field}`, message: (e as Error).message });
      }
    }
  }
  if (issues.length)
    throw new ConfigError(`templates: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
}

/**
 * Mustache's writer, with its parse cache keyed by the template itself. Mustache's own cache
 * builds a key of the whole template plus its tags on every render and every partial — a new
 * string of kilobytes to hash each time — and never forgets one; a job's `title` is a template,
 * so that cache grew with every distinct title. This one is bounded.
 */
class TemplateWriter extends Mustache.Writer {
  private readonly parsed = new Map<string, ReturnType<Mustache.Writer["parse"]>>();

  constructor(private readonly max = 1000) {
    super();
    (this as { templateCache?: unknown }).templateCache = undefined;
  }

  override parse(
    template: string,
    tags?: Mustache.OpeningAndClosingTags,
  ): ReturnType<Mustache.Writer["parse"]> {
    if (tags) return super.parse(template, tags);
    let tokens = this.parsed.get(template);
    if (tokens === undefined) {
      tokens = super.parse(template);
      if (this.parsed.size >= this.max) this.parsed.clear();
      this.parsed.set(template, tokens);
    }
    return tokens;
  }
}

/**
 * What one render may do: a template comes with a job or from config, and four nested
 * `{{#alerts}}` over 60 alerts would render 13 million blocks. Work counts the tokens walked
 * (every section entry at least one); output counts what values and text add. Both stop the
 * render with a RenderLimit (docs/notifications.md, "Bounded templates").
 */
export const RENDER_LIMITS = { work: 200_000, title: 4 * 1024, body: 2 * 1024 * 1024 } as const;

class RenderLimit extends Error {}

type Tokens = Parameters<Mustache.Writer["renderTokens"]>;

/** The parse-cached writer that counts its work and output, per render. */
class BoundedWriter extends TemplateWriter {
  private work = 0;
  private out = 0;
  private maxOut = 0;
  /** Past maxOut, values are cut instead of the render failing (a title: see renderTitle). */
  private cutOut = false;

  renderWithin(maxOut: number, cutOut: boolean, ...args: Parameters<Mustache.Writer["render"]>): string {
    this.work = 0;
    this.out = 0;
    this.maxOut = maxOut;
    this.cutOut = cutOut;
    return this.render(...args);
  }

  override renderTokens(...args: Tokens): string {
    this.work += args[0].length + 1;
    if (this.work > RENDER_LIMITS.work) throw new RenderLimit(`more than ${RENDER_LIMITS.work} steps`);
    return super.renderTokens(...args);
  }

  override rawValue(token: string[]): string {
    return this.counted(super.rawValue(token));
  }

  override escapedValue(...args: Parameters<Mustache.Writer["escapedValue"]>): string {
    return this.counted(super.escapedValue(...args));
  }

  override unescapedValue(...args: Parameters<Mustache.Writer["unescapedValue"]>): string {
    // Raw output ({{{…}}}) is the template author's, for pre-sanitised URLs: left as it comes (the
    // shown form's brackets would make a markdown link of "…(url)" after a control).
    return this.counted(super.unescapedValue(...args));
  }

  private counted(v: string): string {
    const room = this.maxOut - this.out;
    this.out += v?.length ?? 0;
    if (this.out <= this.maxOut) return v;
    if (this.cutOut) return v.slice(0, Math.max(0, room));
    throw new RenderLimit(`more than ${this.maxOut} characters`);
  }
}

const writer = new BoundedWriter();

/** Which template field is rendered: the job's `title`, `templates.<name>.body`, …; bounds its size. */
interface Field {
  path: string;
  kind: "title" | "body";
}

/** Mustache with an escape function that also accepts numbers, within RENDER_LIMITS. */
function mustache(
  field: Field,
  template: string,
  view: unknown,
  partials: Record<string, string>,
  esc: Escape,
  cutOut = false,
): string {
  try {
    return writer.renderWithin(RENDER_LIMITS[field.kind], cutOut, template, view, partials, {
      // Every value the alert's sender wrote goes through here: its bidi controls are shown, not obeyed.
      escape: (v: unknown) => esc(bidiShown(String(v))),
    });
  } catch (e) {
    if (e instanceof RenderLimit)
      throw permanent("template_too_large", `${field.path} renders past its limit: ${e.message}`, [
        { path: field.path, message: `renders ${e.message}` },
      ]);
    throw permanent("template_error", `${field.path} could not be rendered: ${(e as Error).message}`, [
      { path: field.path, message: (e as Error).message },
    ]);
  }
}

const textEscape: Escape = (s) => s;

/**
 * Renders a title template, cut to TITLE_MAX (its values are cut as they come, so a long label
 * cannot fail the render); a part number is appended when the template does not place one.
 */
function renderTitle(spec: RenderSpec, template: string, view: object, partLabel: string): string {
  const title = mustache(titleField(spec), template, view, {}, textEscape, true).replace(/\s+/g, " ").trim();
  if (!title) return "";
  return cutTitle(template.includes("{{part") ? title : title + partLabel, partLabel);
}

/**
 * Renders the job's own `title` once over everything it will see, so a title past its limits
 * fails the job before any channel sends (each channel would render it again and fail alike).
 */
export function checkJobTitle(title: string, view: object): void {
  mustache({ path: "title", kind: "title" }, title, view, {}, textEscape, true);
}

/** The job's `title` when it gave one, else the custom template's. */
function titleField(spec: RenderSpec): Field {
  return {
    path: spec.title !== undefined ? "title" : `templates.${spec.template.name}.title`,
    kind: "title",
  };
}

function bodyField(spec: RenderSpec): Field {
  const t = spec.template;
  return { path: t.builtin ? `template ${t.name}` : `templates.${t.name}.body`, kind: "body" };
}

function builtinSet(spec: RenderSpec): TemplateSet {
  return builtinTemplate(spec.template.builtin ? spec.template.name : "alert-default", spec.dialect);
}

/**
 * A part's title: the job's or the custom template's, rendered, else the default one — also when
 * that renders empty (Slack refuses an empty header; a chat list shows nothing to tap).
 */
function partTitle(spec: RenderSpec, view: PartView): string {
  const tpl = spec.title ?? (spec.template.builtin ? undefined : spec.template.title);
  return (tpl && renderTitle(spec, tpl, view, view.part_label)) || view.title;
}

/** Renders one part of an alert group. */
export function renderAlerts(spec: RenderSpec, view: PartView): Rendered {
  const t = spec.template;
  const title = partTitle(spec, view);
  const full = { ...view, title };
  const set = builtinSet(spec);
  const partials = { ...set.partials, ...HTML_PARTIALS };
  const body = t.builtin ? set.body : t.body;
  return { title, body: tidy(mustache(bodyField(spec), body, full, partials, spec.escape)) };
}

/** Renders the summary that ends a group capped at max_parts (always the built-in summary). */
export function renderSummary(spec: RenderSpec, view: PartView): Rendered {
  const title = partTitle(spec, view);
  const set = builtinSet(spec);
  const full = { ...view, title };
  return { title, body: tidy(mustache(bodyField(spec), set.summary, full, HTML_PARTIALS, spec.escape)) };
}

/** Renders free `data` with a custom template (no alerts, so no splitting at alert boundaries). */
export function renderData(spec: RenderSpec, data: Record<string, unknown>): Rendered {
  const t = spec.template;
  if (t.builtin)
    throw permanent(
      "invalid_payload",
      "`data` without `alerts` is free data, which only a custom template renders (templates.<name> in the config): name one with `template`, or give a list of alerts or an Alertmanager payload",
    );
  const title = renderTitle(spec, spec.title ?? t.title, data, "");
  return { title, body: tidy(mustache(bodyField(spec), t.body, { ...data, title }, {}, spec.escape)) };
}

/** Blank lines at either end and runs of blank lines left by empty sections. */
function tidy(s: string): string {
  return s
    .replace(/\n{3,}/g, "\n\n")
    .replace(/^(?:[ \t]*\n)+/, "")
    .replace(/\s+$/, "");
}
