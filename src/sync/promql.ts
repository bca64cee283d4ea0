/**
 * PromQL's syntax, checked before a rule is delivered to a Prometheus target: with Prometheus'
 * own grammar (@prometheus-io/lezer-promql, what its web UI parses with), so a wrong expression
 * is a 489 naming its rule and field instead of a reload the peer refuses without saying which
 * rule (docs/config-sync.md, "Validation"). Syntax only: types and argument counts
 * (`sum(up[5m])`) are still the peer's to refuse.
 */
import { parser } from "@prometheus-io/lezer-promql";

/** A node of the parsed tree (@lezer/common's SyntaxNode, reached through the parser's own types). */
type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

/**
 * What Prometheus 2.x reads but the 3.x grammar here does not: `holt_winters` (renamed
 * double_exponential_smoothing), a number ending in a dot (`5.`, `1.e3`) and `0X` hex — outside
 * string literals, which Prometheus keeps as they are. Rewritten to what it does read, with the
 * same meaning, before the text is parsed; `rawAt` maps a position back to the text as written.
 */
const LEXABLE =
  /("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)|\bholt_winters(?=\s*\()|(?<=\d)(?<!0[xX][0-9a-fA-F]*)\.(?=[\s)\],]|$|[eE][+-]?\d)|\b0X(?=[0-9a-fA-F]+\b(?!\.))/g;
function lexable(raw: string): { text: string; rawAt: (at: number) => number } {
  const anchors: [number, number][] = [[0, 0]];
  let text = "";
  let from = 0;
  for (const m of raw.matchAll(LEXABLE)) {
    if (m[1] !== undefined) continue;
    const by = m[0] === "holt_winters" ? "double_exponential_smoothing" : m[0] === "." ? "" : "0x";
    text += raw.slice(from, m.index) + by;
    from = (m.index ?? 0) + m[0].length;
    anchors.push([text.length, from]);
  }
  text += raw.slice(from);
  const rawAt = (at: number) => {
    const [out, inRaw] = anchors.filter(([o]) => o <= at).at(-1) as [number, number];
    return Math.min(inRaw + (at - out), raw.length);
  };
  return { text, rawAt };
}

/** Where the expression stops being PromQL, with what follows, or undefined when it parses. */
export function promqlSyntaxError(raw: string): string | undefined {
  const { text, rawAt } = lexable(raw);
  let found: number | undefined;
  parser.parse(text).iterate({
    enter: (node) => {
      if (found === undefined && node.type.isError) found = node.from;
      return found === undefined;
    },
  });
  if (found === undefined) return undefined;
  const at = rawAt(found);
  const rest = raw.slice(at, at + 20);
  return `is not PromQL: a syntax error at character ${at + 1}${rest ? ` ("${rest}${raw.length > at + 20 ? "…" : ""}")` : " (the end)"}`;
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

/**
 * A number or duration as its value, as Prometheus reads it and prints it back: `1e3` as 1000,
 * `90s` as 1m30s, `- 1` as -1, a leading 0 as octal (Go's ParseInt), `@` times to the millisecond.
 */
function literalValue(raw: string, inDuration: boolean, afterAt: boolean): string {
  const text = raw.replace(/\s+/g, "");
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)];
  if (parts.length && parts.map((p) => p[0]).join("") === text)
    return String(parts.reduce((ms, [, n, unit]) => ms + Number(n) * DURATION_MS[unit], 0));
  const signed = text.toLowerCase().replace(/^\+/, "");
  const sign = signed.startsWith("-") ? -1 : 1;
  const t = signed.replace(/^-/, "");
  const octal = /^0([0-7]+)$/.exec(t);
  const n =
    sign *
    (octal ? Number.parseInt(octal[1], 8) : t === "inf" ? Infinity : t === "nan" ? Number.NaN : Number(t));
  // Go's math.Round: halves away from zero (`@ -0.0005` is printed -0.001).
  if (afterAt) return String((Math.sign(n) * Math.round(Math.abs(n) * 1000)) / 1000);
  return String(inDuration ? n * 1000 : n);
}

const UTF8 = new TextEncoder();

/** A string literal's value: Prometheus prints every string double-quoted, with Go's escapes. */
function stringValue(text: string): string {
  if (text.startsWith("`")) return text.slice(1, -1);
  // Go's `\xNN` and `\NNN` are bytes, read together as UTF-8 (`"\xc3\xa9"` is é).
  const bytes: number[] = [];
  const body = text.slice(1, -1);
  for (let i = 0; i < body.length; ) {
    const m = /^\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/s.exec(body.slice(i));
    const cp = body.codePointAt(i) as number;
    if (!m) {
      bytes.push(...UTF8.encode(String.fromCodePoint(cp)));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = m[1];
    if (/^[x0-7]/.test(e)) bytes.push(Number.parseInt(e[0] === "x" ? e.slice(1) : e, e[0] === "x" ? 16 : 8));
    else {
      const c = /^[uU]/.test(e)
        ? String.fromCodePoint(Number.parseInt(e.slice(1), 16))
        : ({ a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" }[e] ?? e);
      bytes.push(...UTF8.encode(c));
    }
    i += m[0].length;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The value of unary signs applied to a number literal, or undefined when they apply to something else. */
function signedNumber(node: SyntaxNode, expr: string): number | undefined {
  const op = node.firstChild;
  const operand = op?.nextSibling;
  if (!op || !operand || operand.nextSibling) return undefined;
  const sign = expr.slice(op.from, op.to).trim() === "-" ? -1 : 1;
  if (operand.type.name === "UnaryExpr") {
    const inner = signedNumber(operand, expr);
    return inner === undefined ? undefined : sign * inner;
  }
  if (!operand.type.name.startsWith("NumberDurationLiteral")) return undefined;
  return sign * Number(literalValue(expr.slice(operand.from, operand.to), false, false));
}

/**
 * What of an expression survives Prometheus's printing of it (`GET /api/v1/rules` lists the
 * parsed query, not the text sent): its names, operators, keywords, strings and numbers by
 * value, in any order — `sum(x) by (job)` comes back as `sum by (job) (x)`, `by ()` is dropped,
 * keywords come back in lower case. A changed metric, label, threshold or function shows; an
 * operand swap does not. A quoted name (`{"up"}`) and a `__name__` matcher read as names.
 * Undefined when the text is not PromQL (docs/config-sync.md, "Choices").
 */
export function promqlFingerprint(raw: string): string | undefined {
  const expr = lexable(raw).text;
  const tokens: string[] = [];
  let broken = false;
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) broken = true;
      // `ignoring()` matches on every label, as no clause does: Prometheus prints neither it nor
      // the group_left/group_right after it.
      if (
        node.type.name === "MatchingModifierClause" &&
        /^ignoring\s*\(\s*\)/i.test(expr.slice(node.from, node.to))
      )
        return false;
      // Signs before a number are folded into it (`- -1` is printed 1, `+-1` is -1).
      const folded = node.type.name === "UnaryExpr" ? signedNumber(node.node, expr) : undefined;
      if (folded !== undefined) {
        tokens.push(`n:${folded}`);
        return false;
      }
      if (broken || node.node.firstChild) return !broken;
      const text = expr.slice(node.from, node.to);
      const type = node.type.name;
      // A comment, an empty grouping or matcher list: Prometheus prints none of them.
      if (["LineComment", "GroupingLabels", "LabelMatchers", "By"].includes(type)) return false;
      if (type.startsWith("NumberDurationLiteral"))
        tokens.push(`n:${literalValue(text, type.endsWith("InDurationContext"), tokens.at(-1) === "@")}`);
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
