/**
 * Renders one target: picks the rules it gets (enabled, the rule's `targets`, the target's
 * `include` groups), renders them for its kind, hashes the canonical YAML and puts a header
 * comment with the hash on top. Also gives a display copy with secrets masked, which is what
 * diffs show and what the store keeps as "last applied".
 */
import type { Config } from "../config/schema.ts";
import { qstashPublishHeaders } from "../qstash/publish.ts";
import { alertmanagerRenderer, HASH_RECEIVER_PREFIX } from "./alertmanager.ts";
import { sha256 } from "./hash.ts";
import { type GroupSummary, type RuleFile, renderPrometheus } from "./prometheus.ts";
import type { Rule } from "./rule.ts";
import { selfRuleModels } from "./self-rules.ts";
import { renderVmalert } from "./vmalert.ts";

export type TargetConfig = Config["config_sync"]["targets"][string];
export type TargetKind = TargetConfig["kind"];

export interface Rendered {
  target: string;
  kind: TargetKind;
  /** What is delivered: header comment + canonical YAML. */
  content: string;
  /** `content` with secrets masked: for diffs, plans and the stored record. */
  display: string;
  /** sha256 of the canonical YAML (the hash's own appearances excluded). */
  hash: string;
  /** Rules rendered for this target. */
  rules: number;
  /** Rule groups as the peer should list them (empty for Alertmanager). */
  groups: GroupSummary[];
  /** The rule file as data (Prometheus and vmalert kinds), for per-group APIs. */
  ruleFile?: RuleFile;
  /** Fields left out because of the target's omit_fields. */
  omitted: string[];
}

/** The rules a target gets. A non-Prometheus vmalert rule (graphite, vlogs) goes to vmalert only. */
export function selectRules(name: string, target: TargetConfig, rules: readonly Rule[]): Rule[] {
  const self = target.self_rules;
  const own =
    self && target.kind !== "alertmanager" ? selfRuleModels(self === true ? undefined : self.job) : [];
  return [...rules, ...own].filter(
    (r) =>
      r.enabled &&
      (!r.targets || r.targets.includes(name)) &&
      (!target.include || target.include.includes(r.group)) &&
      (target.kind === "vmalert" || !r.vmalert?.type || r.vmalert.type === "prometheus"),
  );
}

/** The QStash publish URL Alertmanager posts to, for worker.public_url + /jobs/notification. */
export function notificationPublishUrl(config: Config): string | undefined {
  const base = config.worker.public_url?.replace(/\/+$/, "");
  return base ? `${config.qstash.url.replace(/\/+$/, "")}/v2/publish/${base}/jobs/notification` : undefined;
}

/** The target and hash in a file's header when config sync wrote it (header below), else undefined. */
export function managedBy(text: string | null): { target: string; hash: string } | undefined {
  const m = text
    ? /^# Managed by alertagent-worker config sync: target ("(?:[^"\\\n]|\\.)*") [^\n]*\n# (sha256:[0-9a-f]+)\n/.exec(
        text,
      )
    : null;
  if (!m) return undefined;
  try {
    return { target: JSON.parse(m[1]) as string, hash: m[2] };
  } catch {
    return undefined;
  }
}

function header(name: string, kind: TargetKind, hash: string): string {
  // JSON quoting keeps a line break in a target name from ending the comment.
  return `# Managed by alertagent-worker config sync: target ${JSON.stringify(name)} (${kind}). Edits here are overwritten.\n# ${hash}\n`;
}

export async function renderTarget(
  name: string,
  target: TargetConfig,
  all: readonly Rule[],
  config: Config,
): Promise<Rendered> {
  const rules = selectRules(name, target, all);
  const base = { target: name, kind: target.kind, rules: rules.length };
  if (target.kind === "alertmanager") {
    const render = alertmanagerRenderer(rules, {
      publishUrl: notificationPublishUrl(config),
      token: config.qstash.token,
      // Without public_url the renderer refuses receivers anyway (no publish URL).
      headers:
        target.qstash_headers && config.worker.public_url
          ? qstashPublishHeaders(config, "notification")
          : undefined,
    });
    const hash = await sha256(render());
    const top = header(name, target.kind, hash);
    return {
      ...base,
      hash,
      content: top + render(hash),
      display: top + render(hash, config.qstash.token && "<secret>"),
      groups: [],
      omitted: [],
    };
  }
  const file =
    target.kind === "vmalert"
      ? renderVmalert(rules, target.omit_fields)
      : renderPrometheus(rules, target.omit_fields);
  const hash = await sha256(file.yaml);
  const content = header(name, target.kind, hash) + file.yaml;
  return {
    ...base,
    hash,
    content,
    display: content,
    groups: file.summary,
    ruleFile: file,
    omitted: file.omitted,
  };
}

/** The hash an Alertmanager config carries (what verification looks for). */
export function hashReceiver(hash: string): string {
  return HASH_RECEIVER_PREFIX + hash;
}
