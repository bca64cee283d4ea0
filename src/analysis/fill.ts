/**
 * Filling an alert's labels into the built-in engine's text, checks and commands. Whoever sends an
 * alert controls its labels, and an operator pastes these at 3 a.m. (docs/analysis.md, "Built-in"):
 * in a PromQL query a matcher's value is escaped as a PromQL string; in a shell command a value is
 * filled in only as one plain word; otherwise the placeholder stays visible as `<label>`.
 */

/** `v[k]` as `as` gives it; a missing label (or a value `as` refuses) stays visible as `<k>`. */
const filled = (v: Record<string, string>, k: string, as = (x: string): string | undefined => x) =>
  (v[k] === undefined ? undefined : as(v[k])) ?? `<${k}>`;

/** Fills `{{label}}` in prose (a summary): no syntax to break out of. */
export function fill(template: string, v: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => filled(v, k));
}

/**
 * A value as one shell word, or undefined: letters, digits and `_.:/@%+=,-`, not starting with `-`
 * (an option: `--all` to `kubectl delete job`). `db-1'; curl … | sh` is not one; neither is an
 * IPv6 `[::1]:9100` (a glob), which stays a placeholder to fill in by hand.
 */
const shellWord = (x: string) => (/^[\p{L}\p{N}_.:/@%+=,][\p{L}\p{N}_.:/@%+=,-]*$/u.test(x) ? x : undefined);

/**
 * A value inside a shell command's quotes (`amtool … alertname="{{alertname}}"`, or jq's
 * `'…=="{{instance}}"'` within single quotes): spaces are fine there, but no quote of either kind,
 * `$`, backtick, backslash, `!` or line break, which could end the quotes or run something.
 */
const shellQuoted = (x: string) => (/^[^"'$`\\!\r\n]*$/.test(x) ? x : undefined);

/** A value inside a PromQL double-quoted string: a quote in it cannot close the matcher. */
const promqlInner = (x: string) => x.replace(/[\\"]/g, "\\$&").replace(/\n/g, "\\n");

/**
 * Whether a template is a PromQL query — a name right against `{` or `(` (`up{…}`, `rate(…)`,
 * `(a - b)`) or an aggregation's `by (`/`without (` — rather than a shell command (`ssh {{host}} …`,
 * `kubectl …`).
 */
const isPromql = (t: string) => /^\(*[A-Za-z_:][\w:]*(?:[{(]|\s+(?:by|without)\s*\()/.test(t);

/**
 * A check or a step filled. PromQL: a matcher on a label the alert does not have is left out
 * rather than kept as `instance="<instance>"`, which selects nothing — pasted, it says all is
 * well — and a matcher's value is escaped. A shell command: a bare value one word, a quoted one
 * without anything that ends quotes or runs something.
 */
export function fillCommand(command: string, v: Record<string, string>): string {
  if (!isPromql(command))
    return command.replace(/"\{\{(\w+)\}\}"|\{\{(\w+)\}\}/g, (_, quoted: string | undefined, bare: string) =>
      quoted ? `"${filled(v, quoted, shellQuoted)}"` : filled(v, bare, shellWord),
    );
  // The template first (no value can be touched), then every value in one pass.
  const kept = command
    .replace(/(\w+)\s*(=~|!=|!~|=)\s*"\{\{(\w+)\}\}"\s*,?/g, (m, _l, _op, k: string) => (k in v ? m : ""))
    .replace(/,\s*\}/g, "}");
  return kept.replace(/"\{\{(\w+)\}\}"|\{\{(\w+)\}\}/g, (_, quoted: string | undefined, bare: string) =>
    quoted ? `"${filled(v, quoted, promqlInner)}"` : filled(v, bare, shellWord),
  );
}
