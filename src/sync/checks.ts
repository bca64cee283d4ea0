/**
 * Text checks behind the rule model (rule.ts): Prometheus durations, control characters,
 * Go templates that Prometheus can parse, and PromQL brackets and strings that close.
 * Each answers what a peer would refuse later, without parsing PromQL or Go templates fully.
 */

/** Prometheus' duration syntax (prometheus/common model.ParseDuration): units in order, integers. */
const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** Milliseconds of a Prometheus duration ("1h30m", "0"), or undefined when Prometheus would refuse it. */
export function parsePromDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const m = PROM_DURATION.exec(text);
  if (!m || text === "") return undefined;
  let ms = 0;
  for (let i = 1; i < m.length; i++) if (m[i]) ms += Number(m[i]) * UNIT_MS[i - 1];
  return ms;
}

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** C0 controls (but tab, newline and carriage return when `multiline`) and DEL: no peer takes them. */
export function hasControl(s: string, multiline: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x7f || (c < 0x20 && !(multiline && (c === 9 || c === 10 || c === 13)))) return true;
  }
  return UNPAIRED_SURROGATE.test(s);
}

/** `{{#x}}`, `{{^x}}`, `{{/x}}`, `{{>x}}`, `{{&x}}`, `{{!x}}`, `{{{x}}}`: Mustache, not Go. */
const MUSTACHE_SIGIL = /^(?:[#^>&!{=]|\/(?!\*))/;

/**
 * The actions (`{{ … }}`) of a Go template in a label or annotation, string literals inside them
 * kept whole (they may hold braces); undefined when one does not close with `}}` or is Mustache —
 * Prometheus refuses such a rule when it loads it. A lone `}}` outside an action is plain text to Go.
 */
function goActions(s: string): string[] | undefined {
  const out: string[] = [];
  let i = s.indexOf("{{");
  while (i >= 0) {
    let j = i + 2;
    // A comment (`{{/* … */}}`, trim markers allowed) may hold quotes and braces: skipped whole.
    const comment = /^(-\s+)?\/\*/.exec(s.slice(j));
    if (comment) {
      const end = s.indexOf("*/", j + comment[0].length);
      if (end < 0) return undefined;
      j = end + 2;
    }
    for (;;) {
      if (j >= s.length) return undefined;
      const c = s[j];
      if (c === '"' || c === "`" || c === "'") {
        j++;
        while (j < s.length && s[j] !== c) j += c !== "`" && s[j] === "\\" ? 2 : 1;
        j++;
      } else if (c === "}" && s[j + 1] === "}") break;
      else if (j === i + 2 && MUSTACHE_SIGIL.test(s.slice(j))) return undefined;
      else if (c === "{" && s[j + 1] === "{") return undefined;
      else j++;
    }
    out.push(s.slice(i + 2, j));
    i = s.indexOf("{{", j + 2);
  }
  return out;
}

const OPENS = new Set(["if", "range", "with", "define", "block"]);

/**
 * Why Prometheus would refuse a label or annotation's Go template at load, whatever the peer, or
 * undefined: an action that does not close (or Mustache), a block without its `{{ end }}`, an end
 * without its block, an else outside one. Undefined variables depend on the peer (undefinedVars).
 */
export function templateProblem(s: string): string | undefined {
  const actions = goActions(s);
  if (!actions)
    return "is not a valid Go template: each {{ needs its }}, and Mustache tags ({{#x}}, {{/x}}, {{^x}}) are not Go";
  const open: string[] = [];
  for (const raw of actions) {
    const a = raw.replace(/^-\s+/, "").replace(/\s+-$/, "").trim();
    if (a.startsWith("/*")) continue;
    const word = /^[a-z]+/.exec(a)?.[0] ?? "";
    if (OPENS.has(word)) open.push(word);
    else if (word === "end") {
      if (!open.pop())
        return "is not a valid Go template: {{ end }} closes no {{ if }}, {{ range }} or {{ with }}";
    } else if (word === "else" && !["if", "range", "with"].includes(open.at(-1) ?? ""))
      return "is not a valid Go template: {{ else }} outside an {{ if }}, {{ range }} or {{ with }}";
  }
  return open.length ? `is not a valid Go template: {{ ${open.at(-1)} }} has no {{ end }}` : undefined;
}

/** Variables Prometheus (template/template.go) defines before a label or annotation's template. */
export const PROMETHEUS_TEMPLATE_VARS = new Set(["labels", "value", "externalLabels", "externalURL"]);
/** vmalert's: Prometheus's and `$expr`; newer ones add `$alertID`, `$groupID`, `$activeAt`, `$for` (let through). */
export const VMALERT_TEMPLATE_VARS = new Set([
  ...PROMETHEUS_TEMPLATE_VARS,
  ...["expr", "alertID", "groupID", "activeAt", "for"],
]);

/** A Go variable name: a letter (any script's) or `_`, then letters, digits or `_`. */
const VAR = "[\\p{L}_][\\p{L}\\p{N}_]*";
const DECLARED = new RegExp(`\\$(${VAR})\\s*(?:,\\s*\\$(${VAR})\\s*)?:?=`, "gu");
const USED = new RegExp(`\\$(${VAR})`, "gu");

/**
 * The `$variables` a Go template uses that it does not declare and `known` (a peer's list above)
 * lacks, in order. A declaration anywhere counts, whatever its scope: the peer judges the rest.
 */
export function undefinedVars(s: string, known: ReadonlySet<string>): string[] {
  const code = actionCode(s);
  const declared = new Set(code.flatMap((a) => [...a.matchAll(DECLARED)].flatMap((m) => [m[1], m[2]])));
  const out: string[] = [];
  for (const a of code)
    for (const [, name] of a.matchAll(USED))
      if (!declared.has(name) && !known.has(name) && !out.includes(name)) out.push(name);
  return out;
}

/** Brackets and quotes of a PromQL expression must balance; the rest is the peer's to judge. */
export function exprProblem(expr: string): string | undefined {
  if (expr.trim() === "") return "must not be empty";
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += c !== "`" && expr[j] === "\\" ? 2 : 1;
      if (j >= expr.length) return `has an unterminated string starting at character ${i + 1}`;
      i = j;
    } else if (c === "#") {
      const nl = expr.indexOf("\n", i);
      i = nl < 0 ? expr.length : nl;
    } else if (c === "(" || c === "[" || c === "{") stack.push(c);
    else if (pairs[c]) {
      if (stack.pop() !== pairs[c]) return `has an unmatched "${c}" at character ${i + 1}`;
    }
  }
  return stack.length ? `has an unclosed "${stack[stack.length - 1]}"` : undefined;
}

/** Go's own template functions (text/template), which every peer's templates have. */
const GO_TEMPLATE_FUNCS = [
  ...["and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println"],
  ...["urlquery", "eq", "ge", "gt", "le", "lt", "ne"],
];

/** Template functions Prometheus and vmalert both define (vmalert took Prometheus's as its model). */
const SHARED_TEMPLATE_FUNCS = [
  ...GO_TEMPLATE_FUNCS,
  ...["query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml", "match"],
  ...["title", "toUpper", "toLower", "sortByLabel", "stripPort", "stripDomain", "externalURL", "pathPrefix"],
  ...["humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp"],
  ...["toTime", "parseDuration"],
];

/**
 * The functions a Prometheus alerting template may call: the shared ones and Prometheus's own
 * (template/template.go, across 2.x and 3.x; a newer one an older Prometheus lacks is still
 * refused by its reload). Anything else fails the rule file at load.
 */
export const PROMETHEUS_TEMPLATE_FUNCS = new Set([
  ...SHARED_TEMPLATE_FUNCS,
  ...["graphLink", "tableLink", "toDuration", "now", "urlQueryEscape"],
]);
/**
 * The functions a vmalert template may call: the shared ones and vmalert's own (app/vmalert/templates,
 * 1.79 to today: `toTime` and `parseDurationTime` came later). Prometheus's graphLink,
 * tableLink, toDuration, now and urlQueryEscape are not among them: vmalert refuses the file.
 */
export const VMALERT_TEMPLATE_FUNCS = new Set([
  ...SHARED_TEMPLATE_FUNCS,
  ...[
    "parseDurationTime",
    "pathEscape",
    "queryEscape",
    "quotesEscape",
    "crlfEscape",
    "jsonEscape",
    "htmlEscape",
  ],
]);
const TEMPLATE_KEYWORDS = new Set([
  ...["if", "else", "end", "range", "with", "define", "template", "block", "nil", "true", "false"],
  ...["break", "continue"],
]);

/** A template's actions without their comments and string literals: the words and variables they use. */
const actionCode = (s: string): string[] =>
  (goActions(s) ?? []).map((a) =>
    a.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/"(?:\\.|[^"\\])*"|`[^`]*`|'(?:\\.|[^'\\])*'/g, " "),
  );

/** The functions a Go template calls that `known` (a peer's list above) lacks, in order of appearance. */
export function unknownTemplateFuncs(s: string, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const action of actionCode(s)) {
    const words = action.split(/[\s()|,]+/);
    for (const w of words)
      if (/^[A-Za-z_]\w*$/.test(w) && !TEMPLATE_KEYWORDS.has(w) && !known.has(w))
        if (!out.includes(w)) out.push(w);
  }
  return out;
}
