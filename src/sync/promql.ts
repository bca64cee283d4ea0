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
