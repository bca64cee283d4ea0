/**
 * PromQL built from an alert's labels, safely (docs/analysis.md, "Evidence"): a label value is
 * always a quoted, escaped string literal, and only label names PromQL accepts are used, so an
 * alert cannot inject a query of its own.
 */

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as a PromQL double-quoted string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;
}

/** `{a="x",b="y"}` from the alert's labels named in `keep` (those it has); `extra` matchers appended as given. */
export function selector(
  labels: Record<string, string>,
  keep: readonly string[],
  extra: string[] = [],
): string {
  const parts = keep
    .filter((k) => LABEL_NAME.test(k) && labels[k] !== undefined && labels[k] !== "")
    .map((k) => `${k}=${quote(labels[k])}`);
  return `{${[...parts, ...extra].join(",")}}`;
}
