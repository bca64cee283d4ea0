/**
 * PromQL's syntax, checked before a rule is delivered to a Prometheus target: with Prometheus'
 * own grammar (@prometheus-io/lezer-promql, what its web UI parses with), so a wrong expression
 * is a 489 naming its rule and field instead of a reload the peer refuses without saying which
 * rule (docs/config-sync.md, "Validation"). Syntax only: types and argument counts
 * (`sum(up[5m])`) are still the peer's to refuse.
 */
import { parser } from "@prometheus-io/lezer-promql";

/** Where the expression stops being PromQL, with what follows, or undefined when it parses. */
export function promqlSyntaxError(expr: string): string | undefined {
  let at: number | undefined;
  parser.parse(expr).iterate({
    enter: (node) => {
      if (at === undefined && node.type.isError) at = node.from;
      return at === undefined;
    },
  });
  if (at === undefined) return undefined;
  const rest = expr.slice(at, at + 20);
  return `is not PromQL: a syntax error at character ${at + 1}${rest ? ` ("${rest}${expr.length > at + 20 ? "…" : ""}")` : " (the end)"}`;
}

const DURATION_MS: Record<string, number> = {
  ms: 1,
  s: 1e3,
  m: 6e4,
  h: 36e5,
  d: 864e5,
  w: 6048e5,
  y: 31536e6,
};

/** A number or duration as its value: Prometheus prints `1e3` as 1000 and `90s` as 1m30s. */
function literalValue(text: string, inDuration: boolean): string {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)];
  if (parts.length && parts.map((p) => p[0]).join("") === text)
    return String(parts.reduce((ms, [, n, unit]) => ms + Number(n) * DURATION_MS[unit], 0));
  const t = text.toLowerCase().replace(/^\+/, "");
  const n = t === "inf" ? Infinity : t === "-inf" ? -Infinity : t === "nan" ? Number.NaN : Number(t);
  return String(inDuration ? n * 1000 : n);
}

/** A string literal's value: Prometheus prints every string double-quoted, with Go's escapes. */
function stringValue(text: string): string {
  if (text.startsWith("`")) return text.slice(1, -1);
  return text
    .slice(1, -1)
    .replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_, e: string) => {
      if (/^[uUx]/.test(e)) return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
      if (/^[0-7]/.test(e)) return String.fromCodePoint(Number.parseInt(e, 8));
      return { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" }[e] ?? e;
    });
}

/**
 * What of an expression survives Prometheus's printing of it (`GET /api/v1/rules` lists the
 * parsed query, not the text sent): its names, operators, keywords, strings and numbers by
 * value, in any order — `sum(x) by (job)` comes back as `sum by (job) (x)`, `by ()` is dropped,
 * keywords come back in lower case. A changed metric, label, threshold or function shows; an
 * operand swap does not. A quoted name (`{"up"}`) and a `__name__` matcher read as names.
 * Undefined when the text is not PromQL (docs/config-sync.md, "Choices").
 */
export function promqlFingerprint(expr: string): string | undefined {
  const tokens: string[] = [];
  let broken = false;
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) broken = true;
      if (broken || node.node.firstChild) return !broken;
      const text = expr.slice(node.from, node.to);
      const type = node.type.name;
      // A comment, an empty grouping or matcher list: Prometheus prints none of them.
      if (["LineComment", "GroupingLabels", "LabelMatchers", "By"].includes(type)) return false;
      if (type.startsWith("NumberDurationLiteral"))
        tokens.push(`n:${literalValue(text, type.endsWith("InDurationContext"))}`);
      else if (type === "StringLiteral")
        tokens.push(`${node.node.parent?.type.name === "QuotedLabelName" ? "i" : "s"}:${stringValue(text)}`);
      else if (type === "Identifier" || type === "LabelName") tokens.push(`i:${text}`);
      else tokens.push(text.toLowerCase());
      return false;
    },
  });
  if (broken) return undefined;
  // `{__name__="up"}` and `up` are one selector, however a Prometheus version prints it.
  for (let i = tokens.indexOf("i:__name__"); i >= 0; i = tokens.indexOf("i:__name__", i + 1))
    if (tokens[i + 1] === "=" && tokens[i + 2]?.startsWith("s:"))
      tokens.splice(i, 3, `i:${tokens[i + 2].slice(2)}`);
  return JSON.stringify(tokens.sort());
}
