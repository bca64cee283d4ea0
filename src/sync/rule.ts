/**
 * The config-sync rule model (docs/config-sync.md): one alerting rule (`name`) or recording rule
 * (`record`) as AlertAgent keeps it, validated
 * so that what Prometheus, Alertmanager or vmalert would reject later is refused now (489),
 * naming the rule id and the field. Label and annotation values are kept byte for byte:
 * Prometheus' own Go templates (`{{ $labels.instance }}`) pass through untouched.
 */
import { z } from "zod";
import { jsonRecord } from "../json-record.ts";
import { exprProblem, hasControl, parsePromDuration, templateProblem } from "./checks.ts";

/** Prometheus 2.x label (and annotation) names. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Labels the worker sets itself from other rule fields. */
export const RESERVED_LABELS: Record<string, string> = {
  alertname: "is set from the rule's name",
  severity: "is set from the rule's severity field",
};
/** Severities with a meaning here (the default inhibit rule, colours); any other value is kept as it is. */
export const SEVERITIES = ["critical", "warning", "info"] as const;
/** A recording rule's `record`: a Prometheus metric name. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const text = z
  .string()
  .refine((s) => !hasControl(s, true), "contains control characters or unpaired surrogates");
const name = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(256)
    .refine((s) => !hasControl(s, false), `${what} must not contain control characters`)
    .refine((s) => s.trim() === s, `${what} must not start or end with spaces`);

const promDuration = z.string().superRefine((s, ctx) => {
  if (parsePromDuration(s) === undefined)
    ctx.addIssue({
      code: "custom",
      message: `"${s}" is not a Prometheus duration (use e.g. 30s, 5m, 1h30m)`,
    });
});

/** Alertmanager refuses a route whose group_interval or repeat_interval is zero ("… cannot be zero"). */
const positiveDuration = promDuration.refine(
  (s) => parsePromDuration(s) !== 0,
  "must be more than 0: Alertmanager refuses a zero interval",
);

const templated = text.superRefine((s, ctx) => {
  const problem = templateProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

function labelMap(what: "label" | "annotation") {
  return jsonRecord(templated, `a ${what}`).superRefine((m, ctx) => {
    for (const k of Object.keys(m)) {
      if (!LABEL_NAME.test(k))
        ctx.addIssue({
          code: "custom",
          path: [k],
          message: `"${k}" is not a valid ${what} name (letters, digits and _, not starting with a digit)`,
        });
      else if (what === "label" && k.startsWith("__"))
        ctx.addIssue({ code: "custom", path: [k], message: `"${k}": names starting with __ are reserved` });
      else if (what === "label" && Object.hasOwn(RESERVED_LABELS, k))
        ctx.addIssue({ code: "custom", path: [k], message: `"${k}" ${RESERVED_LABELS[k]}` });
    }
  });
}

const channelName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "channel names use letters, digits, _ . -")
  .refine((s) => !s.startsWith("alertagent-"), "channel names starting with alertagent- are reserved");

export const notifySchema = z.strictObject({
  /** Notification channels (names from the worker config) this rule's alerts go to. */
  channels: z.array(channelName).min(1),
  group_by: z
    .array(z.string().refine((s) => s === "..." || LABEL_NAME.test(s), "is not a label name (or ...)"))
    // Alertmanager: "..." means every label and must stand alone (amtool check-config refuses a mix).
    .refine(
      (l) => !l.includes("...") || l.length === 1,
      '"..." (group by every label) must be the only entry',
    )
    .optional(),
  group_wait: promDuration.optional(),
  group_interval: positiveDuration.optional(),
  repeat_interval: positiveDuration.optional(),
  /** Keep matching later routes after this one. @default false */
  continue: z.boolean().optional(),
});

export const vmalertSchema = z.strictObject({
  type: z.enum(["prometheus", "graphite", "vlogs"]).optional(),
  eval_offset: promDuration.optional(),
  limit: z.number().int().min(0).optional(),
  concurrency: z.number().int().min(1).optional(),
});

/** Group-level fields: every rule of a group that sets one must agree (validate.ts). */
export const groupOptionsSchema = z.strictObject({
  interval: promDuration.optional(),
  limit: z.number().int().min(0).optional(),
  query_offset: promDuration.optional(),
});

/**
 * A rule id: a string, or a whole number taken as its text — up to 2^53 − 1: JSON.parse has
 * already rounded a larger one, and two 64-bit database ids would be one rule.
 */
export function ruleId<T extends z.ZodType>(inner: T) {
  return z.preprocess((v, ctx) => {
    if (typeof v !== "number" || !Number.isInteger(v)) return v;
    if (Number.isSafeInteger(v)) return String(v);
    ctx.addIssue({
      code: "custom",
      message: "is an integer past 2^53, which JSON cannot carry exactly: send it as a string",
    });
    return z.NEVER;
  }, inner);
}

const ruleObject = z.strictObject({
  /** AlertAgent's rule id: create/update upsert by it, delete removes by it. */
  id: ruleId(name("id")),
  /** An alerting rule: the alert name (Prometheus `alert:`, the `alertname` label). */
  name: name("name").optional(),
  /** A recording rule: the metric it records (Prometheus `record:`). */
  record: z.string().regex(METRIC_NAME, "is not a Prometheus metric name").optional(),
  group: name("group"),
  expr: z.string().superRefine((s, ctx) => {
    const p = exprProblem(s) ?? (hasControl(s, true) ? "contains control characters" : undefined);
    if (p) ctx.addIssue({ code: "custom", message: p });
  }),
  for: promDuration.optional(),
  keep_firing_for: promDuration.optional(),
  /** Any label value: `critical`, `warning`, `info` have a meaning here; `none`, `page`… are kept as they are. */
  severity: name("severity").optional(),
  labels: labelMap("label").default({}),
  annotations: labelMap("annotation").default({}),
  enabled: z.boolean().default(true),
  /** Target names this rule goes to; default every target. */
  targets: z.array(z.string().min(1)).min(1).optional(),
  notify: notifySchema.optional(),
  vmalert: vmalertSchema.optional(),
  group_options: groupOptionsSchema.optional(),
});

/** What only an alerting rule has. */
const ALERTING_ONLY = ["severity", "for", "keep_firing_for", "notify"] as const;

/** A rule as this schema gives it back (`kind`, `name` for both kinds) reads as its input again. */
function asInput(v: unknown): unknown {
  if (!v || typeof v !== "object" || !("kind" in v)) return v;
  const { kind, name: n, ...rest } = v as Record<string, unknown>;
  if (kind === "recording") return { ...rest, record: n };
  if (kind === "alerting") return { ...rest, name: n };
  return v;
}

export const ruleSchema = z.preprocess(
  asInput,
  ruleObject
    .superRefine((r, ctx) => {
      if ((r.name === undefined) === (r.record === undefined))
        ctx.addIssue({
          code: "custom",
          path: [r.record === undefined ? "name" : "record"],
          message: "give exactly one of name (an alerting rule) or record (a recording rule)",
        });
      if (r.name !== undefined && r.severity === undefined)
        ctx.addIssue({ code: "custom", path: ["severity"], message: "is required for an alerting rule" });
      if (r.record !== undefined) {
        for (const f of ALERTING_ONLY)
          if (r[f] !== undefined)
            ctx.addIssue({ code: "custom", path: [f], message: "a recording rule has none" });
        if (Object.keys(r.annotations).length)
          ctx.addIssue({ code: "custom", path: ["annotations"], message: "a recording rule has none" });
      }
    })
    .transform(({ name: alert, record, ...r }) => ({
      ...r,
      kind: (record === undefined ? "alerting" : "recording") as "alerting" | "recording",
      /** The alert name, or the recorded metric. */
      name: (alert ?? record) as string,
    })),
);

export type Rule = z.output<typeof ruleSchema>;

/** One problem with one rule: which rule, which field, and why. */
export interface RuleIssue {
  rule_id: string | null;
  /** JSON path in the job (`rules[2].for`). */
  path: string;
  /** The field inside the rule (`for`, `labels.__x`). */
  field: string;
  message: string;
}
