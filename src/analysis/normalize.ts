/**
 * Turns what an engine produced into an Analysis, or says why it does not fit. Tolerated: JSON
 * inside code fences or prose, letter case in enums ("Critical"), confidence as "80%" or 80,
 * causes and steps given as plain strings, and missing optional text (evidence, command).
 * Everything else must match `analysisSchema` exactly; free text counts as a summary only
 * where the engine's contract allows it (Dify apps).
 */
import { clip } from "../clip.ts";
import { zodIssues } from "../errors.ts";
import { type Analysis, analysisSchema, type Severity } from "./schema.ts";

export type Normalized = { ok: true; analysis: Analysis } | { ok: false; problems: string };

const SEVERITY_WORDS: Record<string, Severity> = {
  critical: "critical",
  high: "critical",
  error: "critical",
  page: "critical",
  严重: "critical",
  紧急: "critical",
  warning: "warning",
  warn: "warning",
  medium: "warning",
  警告: "warning",
  info: "info",
  low: "info",
  informational: "info",
  信息: "info",
  提示: "info",
};
const RISK_WORDS: Record<string, "low" | "medium" | "high"> = {
  low: "low",
  none: "low",
  safe: "low",
  低: "low",
  medium: "medium",
  moderate: "medium",
  中: "medium",
  high: "high",
  高: "high",
};

/** A reasoning model thinks aloud first (<think>…</think>, DeepSeek-R1, Qwen3): not the answer. */
const withoutThinking = (text: string) => text.replace(/<think>[\s\S]*?(<\/think>|$)/gi, "");

/** The first JSON object in a text (bare, fenced, or surrounded by prose), if any parses. */
export function extractJson(text: string): unknown {
  const answer = withoutThinking(text);
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(answer);
  const body = (fenced ? fenced[1] : answer).trim();
  // The first balanced object that parses: prose after it may hold braces of its own (a PromQL
  // selector in a note), so the last "}" is not the object's.
  for (let start = body.indexOf("{"); start >= 0; start = body.indexOf("{", start + 1)) {
    const end = closingBrace(body, start);
    if (end < 0) return undefined;
    try {
      return JSON.parse(body.slice(start, end + 1));
    } catch {
      // not an object after all (a brace in prose before it): look further
    }
  }
  return undefined;
}

/** The index of the "}" that closes the "{" at `start`, strings skipped; -1 when it is not closed. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

/** An HTML document or error page: one that begins with a doctype or an html/head/body/title tag (a tag quoted inside text is not one). */
const MARKUP_PAGE = /^(<!doctype html|<\?xml[^>]*>\s*<html|<(html|head|body|title)\b)/i;

export function normalizeAnalysis(
  output: unknown,
  opts: { allowText: boolean; severity: Severity },
): Normalized {
  let value = output;
  if (typeof value === "string") {
    const parsed = extractJson(value);
    if (parsed === undefined) {
      const text = withoutThinking(value).trim();
      // A proxy's or gateway's error page passed on as the app's answer is no analysis.
      if (MARKUP_PAGE.test(text))
        return {
          ok: false,
          problems: "the answer is an HTML page (an error page passed on?), not an analysis",
        };
      if (opts.allowText && text)
        return {
          ok: true,
          analysis: bounded({ summary: text, severity: opts.severity, root_causes: [], remediation: [] }),
        };
      return { ok: false, problems: text ? "the answer is not a JSON object" : "the answer is empty" };
    }
    value = parsed;
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    return { ok: false, problems: "the answer is not a JSON object" };
  const r = analysisSchema.safeParse(coerce(value as Record<string, unknown>, opts.severity));
  if (r.success) return { ok: true, analysis: bounded(r.data) };
  return {
    ok: false,
    problems: zodIssues(r.error)
      .map((i) => `${i.path}: ${i.message}`)
      .join("; "),
  };
}

function coerce(o: Record<string, unknown>, fallback: Severity): Record<string, unknown> {
  return {
    summary: typeof o.summary === "string" ? o.summary.trim() : o.summary,
    severity: o.severity === undefined ? fallback : word(o.severity, SEVERITY_WORDS),
    root_causes: Array.isArray(o.root_causes) ? o.root_causes.map(cause) : o.root_causes,
    remediation: Array.isArray(o.remediation) ? o.remediation.map(step) : o.remediation,
  };
}

function word<T>(v: unknown, words: Record<string, T>): unknown {
  return typeof v === "string" ? (words[v.trim().toLowerCase()] ?? v) : v;
}

function cause(c: unknown): unknown {
  if (typeof c === "string") return { cause: c, confidence: 0.5, evidence: "" };
  if (!c || typeof c !== "object") return c;
  const o = c as Record<string, unknown>;
  return { cause: o.cause, confidence: confidence(o.confidence), evidence: o.evidence ?? "" };
}

function step(s: unknown): unknown {
  if (typeof s === "string") return { step: s, command: "", risk: "medium" };
  if (!s || typeof s !== "object") return s;
  const o = s as Record<string, unknown>;
  const said = o.risk === undefined ? "medium" : word(o.risk, RISK_WORDS);
  return { step: o.step, command: o.command ?? "", risk: leastRisk(o.command, said) };
}

/**
 * Commands that destroy (high) or interrupt (medium) whatever the model said: its answer follows the
 * alert's text, which the alert's sender controls, and a `risk: low` step reads as a safe check to
 * paste (docs/analysis.md).
 */
/**
 * Where a command word stands: a line's start, after `;`, `&`, `|`, `(`, a backtick or a quote
 * (`ssh host "…"`), or after what runs its arguments (`sudo`, `xargs`, `find … -exec`).
 */
const AT = String.raw`(?:^|[;&|(\`"']\s*|\b(?:sudo|xargs|exec)\s+(?:[^\s;&|]+\s+){0,4}|\s-exec\s+)`;
/** kubectl's words up to a verb, not past a pipe (`kubectl get events | grep delete` deletes nothing). */
const KUBECTL = String.raw`\bkubectl\s+(?:(?!can-i\b)[^\s|;&]+\s+){0,16}`;
const DESTRUCTIVE = new RegExp(
  String.raw`${AT}(?:rm\s+-\w*[rRf]|rm\s+--(?:recursive|force)|mkfs\S*|dd\s+if=|shred|truncate|wipefs|chmod\s+-R|iptables\s+-[FX])\b|\b(?:drop\s+(?:table|database|schema)|truncate\s+table|delete\s+from|flushall|flushdb|terraform\s+destroy|helm\s+(?:uninstall|delete)|docker\s+(?:system|volume|image)\s+prune|etcdctl\s+del)\b|(?:^|\s)-X\s*DELETE\b|\bfind\s.*\s-delete\b|\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|${KUBECTL}delete\b`,
  "im",
);
const DISRUPTIVE = new RegExp(
  String.raw`${AT}(?:reboot|shutdown|halt|poweroff|kill|killall|pkill)\b|\b(?:systemctl\s+(?:stop|restart|kill|disable)|service\s+\S+\s+(?:stop|restart)|docker\s+(?:rm|stop|restart|kill))\b|${KUBECTL}(?:drain|cordon|scale|apply|patch|edit|replace|rollout\s+(?:restart|undo))\b`,
  "im",
);

/** The floor for one command; its first TEXT_MAX characters are what is kept and shown. */
function leastRisk(command: unknown, said: unknown): unknown {
  if (typeof command !== "string" || !command) return said;
  const shown = command.slice(0, TEXT_MAX);
  if (DESTRUCTIVE.test(shown)) return "high";
  if (DISRUPTIVE.test(shown) && said === "low") return "medium";
  return said;
}

/** 0.8, "0.8", "80%" and 80 all mean 0.8. */
function confidence(v: unknown): unknown {
  let n = v;
  if (typeof v === "string") n = Number(v.trim().replace(/%$/, "")) / (v.trim().endsWith("%") ? 100 : 1);
  if (typeof n === "number" && n > 1 && n <= 100) n = n / 100;
  return n === undefined ? 0.5 : n;
}

/**
 * An engine's answer cut to what a page, a record and a store value can carry: a summary of
 * SUMMARY_MAX characters, ITEMS_MAX causes and steps of TEXT_MAX each, each cut marked with "…".
 * An LLM that runs on (9 MB of summary was seen) must not fill the ledger or fail the store's write.
 */
const SUMMARY_MAX = 4000;
const TEXT_MAX = 1000;
const ITEMS_MAX = 10;

function bounded(a: Analysis): Analysis {
  return {
    ...a,
    summary: clip(a.summary, SUMMARY_MAX),
    root_causes: a.root_causes
      .slice(0, ITEMS_MAX)
      .map((c) => ({ ...c, cause: clip(c.cause, TEXT_MAX), evidence: clip(c.evidence, TEXT_MAX) })),
    remediation: a.remediation
      .slice(0, ITEMS_MAX)
      .map((x) => ({ ...x, step: clip(x.step, TEXT_MAX), command: clip(x.command, TEXT_MAX) })),
  };
}
