/**
 * Rule sets for config-sync tests: the sample (test/fixtures/rules-sample.json)
 * and adversarial sets — unicode names, quotes, colons and YAML-significant words in values,
 * Prometheus Go templates, and many groups.
 */
import { readFixture } from "./fixtures.ts";

export type RawRule = Record<string, unknown>;

export function sampleRules(): RawRule[] {
  return readFixture<RawRule[]>("rules-sample.json");
}

export const UNICODE_RULES: RawRule[] = [
  {
    id: "u-1",
    name: "高CPU使用率",
    group: "节点监控",
    severity: "critical",
    expr: 'rate(node_cpu_seconds_total{mode!="idle"}[5m]) > 0.9',
    for: "5m",
    labels: { team: "運維組", emoji: "🔥 on fire" },
    annotations: { summary: "主机 {{ $labels.instance }} CPU 过高", description: "Ünïcödé — ñ ç ß ø 🚀" },
    notify: { channels: ["ops-dingtalk"] },
  },
  {
    id: "u-2",
    name: "Dïsk Ålmost Fúll",
    group: "节点监控",
    severity: "warning",
    expr: "node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1",
    annotations: { summary: "磁盘空间不足 {{ $labels.mountpoint }}" },
    notify: { channels: ["ops-wecom"], group_by: ["alertname", "instance"] },
  },
];

/** Values a naive YAML writer would turn into other types or break on. */
export const QUOTES_AND_COLONS_RULES: RawRule[] = [
  {
    id: "q-1",
    name: 'Quote"Alert: with colon',
    group: 'group: "quoted" # not a comment',
    severity: "warning",
    expr: "up{job=\"a:b\", path=~'C:\\\\\\\\temp.*'} == 0",
    labels: {
      colon: "a: b",
      hash: "x # y",
      yes_word: "yes",
      on_word: "on",
      tilde: "~",
      null_word: "null",
      octal: "0777",
      dash: "- item",
      flow: "{a: 1}",
      list: "[1, 2]",
      amp: "&anchor",
      star: "*alias",
      bang: "!tag",
      pipe: "| block",
      padded: "  spaces  ",
      backslash: "C:\\path\\to",
      empty: "",
    },
    annotations: {
      summary: 'He said "hi": it\'s fine',
      description: "line one\nline two: indented\n  - not a list\n",
      tab: "a\tb",
    },
    notify: { channels: ["ops-mail"], repeat_interval: "1h", continue: true },
  },
  {
    id: "q-2",
    name: "Colon:Name",
    group: 'group: "quoted" # not a comment',
    severity: "critical",
    expr: 'sum by (job) (rate(http_requests_total{status=~"5.."}[1m])) > 1',
    for: "0",
    labels: { team: "web: frontend" },
    notify: { channels: ["ops-dingtalk", "ops-mail"], group_wait: "10s", group_interval: "1m" },
  },
];

export const GO_TEMPLATE_RULES: RawRule[] = [
  {
    id: "t-1",
    name: "Templated",
    group: "templates",
    severity: "warning",
    expr: "up == 0",
    for: "1m",
    labels: { instance_copy: "{{ $labels.instance }}" },
    annotations: {
      summary: "{{ $labels.job }}/{{ $labels.instance }} is down",
      value: '{{ $value | printf "%.2f" }}',
      humanized: "{{ humanizeDuration $value }} since {{ $labels.instance }}",
      with_query: '{{ with query "up" }}{{ . | first | value }}{{ end }}',
      literal: '{{ "{{ not mustache }}" }}',
      trimmed: "{{- if gt $value 1.0 }}high{{- else }}low{{- end }} {{/* a Go comment */}}",
    },
    notify: { channels: ["ops-dingtalk"] },
  },
];

/** `groups` groups of `perGroup` rules each, with varied notify and vmalert settings. */
export function manyGroups(groups = 60, perGroup = 5): RawRule[] {
  const out: RawRule[] = [];
  for (let g = 0; g < groups; g++) {
    for (let r = 0; r < perGroup; r++) {
      out.push({
        id: `m-${g}-${r}`,
        name: `Alert_${g}_${r}`,
        group: `group-${String(g).padStart(3, "0")}`,
        severity: (["critical", "warning", "info"] as const)[r % 3],
        expr: `rate(requests_total{shard="${g}",n="${r}"}[5m]) > ${r}`,
        for: `${r + 1}m`,
        labels: { shard: String(g) },
        annotations: { summary: `shard ${g} rule ${r} on {{ $labels.instance }}` },
        ...(r % 2 === 0 ? { notify: { channels: [`team-${g % 7}`] } } : {}),
        ...(r === 0 && g % 3 === 0 ? { vmalert: { concurrency: 2, limit: 100 } } : {}),
      });
    }
  }
  return out;
}

/** One rule with the given overrides (a valid base). */
export function rule(over: RawRule = {}): RawRule {
  return {
    id: "r-1",
    name: "InstanceDown",
    group: "availability",
    severity: "critical",
    expr: "up == 0",
    for: "1m",
    annotations: { summary: "{{ $labels.instance }} is down" },
    ...over,
  };
}
