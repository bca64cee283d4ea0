/**
 * The rule model and set validation: what Prometheus accepts passes, what a peer would refuse
 * is a problem naming the rule id, the JSON path and the field.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import {
  PROMETHEUS_TEMPLATE_FUNCS,
  parsePromDuration,
  VMALERT_TEMPLATE_FUNCS,
} from "../../src/sync/checks.ts";
import { promqlSyntaxError } from "../../src/sync/promql.ts";
import { checkRuleSet, parseRules } from "../../src/sync/validate.ts";
import { promtoolCheckRules, vmalertDryRun } from "../support/peers.ts";
import { GO_TEMPLATE_RULES, rule, sampleRules } from "../support/sync-rules.ts";

const fileTarget = loadConfig(
  "qstash: { current_signing_key: a, next_signing_key: b }\nconfig_sync: { targets: { prom: { kind: prometheus, delivery: { type: file, path: /tmp/x.yml } } } }\n",
).config_sync.targets.prom;

const vm = loadConfig(
  "qstash: { current_signing_key: a, next_signing_key: b }\nconfig_sync: { targets: { vm: { kind: vmalert, delivery: { type: file, path: /tmp/v.yml } } } }\n",
).config_sync.targets.vm;

/** The first problem's field and message for one raw rule. */
function problem(raw: Record<string, unknown>) {
  const { issues } = parseRules([raw]);
  expect(issues.length).toBeGreaterThan(0);
  return issues[0];
}

const at = (id: string) => `rules[${id}]`;
/** The problem checkRuleSet reports for rule `id`'s `field`. */
const refused = (id: string, field: string, message: string) => ({
  rule_id: id,
  path: `${at(id)}.${field}`,
  field,
  message,
});
const parsed = (raws: Record<string, unknown>[]) => parseRules(raws).rules;

describe("the rule model accepts what Prometheus accepts", () => {
  test("the shared sample parses with defaults filled in", () => {
    const { rules, issues } = parseRules(sampleRules());
    expect(issues).toEqual([]);
    expect(rules.map((r) => r.id)).toEqual(["r-node-cpu", "r-node-disk", "r-kube-crashloop"]);
    expect(rules[1]).toMatchObject({
      enabled: true,
      labels: {},
      notify: { channels: ["ops-wecom", "ops-mail"] },
    });
    expect(rules[2].vmalert).toEqual({ eval_offset: "30s" });
  });

  test("Go templates in labels and annotations are kept byte for byte", () => {
    const { rules, issues } = parseRules(GO_TEMPLATE_RULES);
    expect(issues).toEqual([]);
    expect(rules[0].annotations).toEqual(GO_TEMPLATE_RULES[0].annotations as Record<string, string>);
    expect(rules[0].labels.instance_copy).toBe("{{ $labels.instance }}");
  });

  test("Prometheus durations: units in order, whole numbers, 0 allowed", () => {
    expect(parsePromDuration("1h30m")).toBe(5_400_000);
    expect(parsePromDuration("0")).toBe(0);
    expect(parsePromDuration("1y2w3d4h5m6s7ms")).toBeGreaterThan(0);
    for (const bad of ["", "5", "1.5m", "5 minutes", "30m1h", "-5m", "1M"])
      expect(parsePromDuration(bad)).toBeUndefined();
  });

  test("a numeric id is taken as its text", () => {
    expect(parseRules([rule({ id: 42 })]).rules[0].id).toBe("42");
  });

  test("a numeric id past 2^53 (a database's 64-bit id, rounded by JSON) is refused, not merged with its neighbour", () => {
    const { rules, issues } = parseRules(
      JSON.parse('[{"id": 9007199254740993}, {"id": 9007199254740992}]').map(rule),
    );
    expect(rules).toEqual([]);
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ["rules[0].id", "is an integer past 2^53, which JSON cannot carry exactly: send it as a string"],
      ["rules[1].id", "is an integer past 2^53, which JSON cannot carry exactly: send it as a string"],
    ]);
  });
});

describe("validation refuses what a peer would reject later, naming the rule id and field", () => {
  test("a bad duration", () => {
    expect(problem(rule({ id: "r-x", for: "5 minutes" }))).toEqual({
      rule_id: "r-x",
      path: "rules[0].for",
      field: "for",
      message: '"5 minutes" is not a Prometheus duration (use e.g. 30s, 5m, 1h30m)',
    });
    expect(problem(rule({ keep_firing_for: "1.5m" })).field).toBe("keep_firing_for");
    expect(problem(rule({ notify: { channels: ["a"], repeat_interval: "4 hours" } })).field).toBe(
      "notify.repeat_interval",
    );
    expect(problem(rule({ vmalert: { eval_offset: "x" } })).field).toBe("vmalert.eval_offset");
  });

  test("a zero group_interval or repeat_interval, which Alertmanager refuses (amtool agrees: peer-checks)", () => {
    for (const field of ["group_interval", "repeat_interval"])
      for (const zero of ["0", "0s", "0m"])
        expect(problem(rule({ id: "r-z", notify: { channels: ["a"], [field]: zero } }))).toEqual({
          rule_id: "r-z",
          path: `rules[0].notify.${field}`,
          field: `notify.${field}`,
          message: "must be more than 0: Alertmanager refuses a zero interval",
        });
    expect(parseRules([rule({ notify: { channels: ["a"], group_wait: "0s" } })]).issues).toEqual([]);
  });

  test("an empty or unbalanced expression", () => {
    expect(problem(rule({ expr: "  " }))).toMatchObject({ field: "expr", message: "must not be empty" });
    expect(problem(rule({ expr: "rate(x[5m]" })).message).toContain('unclosed "("');
    expect(problem(rule({ expr: 'up{job="a"' })).message).toContain('unclosed "{"');
    expect(problem(rule({ expr: 'up{job="a}' })).message).toContain("unterminated string");
    // Brackets inside strings do not count.
    expect(parseRules([rule({ expr: 'up{job=~"a(b|c"} == 0' })]).issues).toEqual([]);
  });

  test("label names Prometheus refuses, and reserved labels", () => {
    expect(problem(rule({ labels: { "team-name": "x" } }))).toMatchObject({
      field: "labels.team-name",
      message: '"team-name" is not a valid label name (letters, digits and _, not starting with a digit)',
    });
    expect(problem(rule({ labels: { "1st": "x" } })).field).toBe("labels.1st");
    expect(problem(rule({ labels: { __name__: "x" } })).message).toContain("reserved");
    expect(problem(rule({ labels: { alertname: "x" } })).message).toBe(
      `"alertname" is set from the rule's name`,
    );
    expect(problem(rule({ labels: { severity: "x" } })).message).toBe(
      `"severity" is set from the rule's severity field`,
    );
    expect(problem(rule({ annotations: { "run book": "x" } })).field).toBe("annotations.run book");
  });

  test("a broken Go template, and Mustache tags where Go templates belong", () => {
    expect(problem(rule({ annotations: { summary: "{{ $labels.instance is down" } })).field).toBe(
      "annotations.summary",
    );
    expect(problem(rule({ annotations: { summary: "{{#alerts}}x{{/alerts}}" } })).message).toContain(
      "Mustache",
    );
    expect(
      parseRules([rule({ annotations: { a: "plain }} text", b: "{{/* comment */}}" } })]).issues,
    ).toEqual([]);
  });

  test("a Go template Prometheus refuses at load (a block without its end, an end or else alone) is refused here, as promtool does", async () => {
    const refused = ["{{ if $value }}high", "{{ end }}", "{{ else }}"];
    const taken = [
      "{{ if gt $value 0.5 }}high{{ else if gt $value 0.2 }}mid{{ else }}low{{ end }}",
      '{{ range $i, $e := query "up" }}{{ $e.Labels.job }}{{ $i }}{{ end }}',
      "{{- with $x := $labels.instance -}}{{ $x }}{{- end -}} {{ $externalURL }} {{ $externalLabels.env }}",
      '{{/* {{ if */}}{{ define "x" }}a{{ end }}{{ template "x" }}{{ $y := 1 }}{{ $y = 2 }}{{ $ }}',
      "{{ $größe := $value }}{{ $größe }} {{ $主机 := $labels.instance }}{{ $主机 }}",
    ];
    for (const summary of refused) {
      expect(problem(rule({ annotations: { summary } }))).toMatchObject({
        field: "annotations.summary",
        message: expect.stringContaining("is not a valid Go template"),
      });
      const file = `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: { summary: ${JSON.stringify(summary)} }\n`;
      expect((await promtoolCheckRules(file)).code).not.toBe(0);
    }
    for (const summary of taken) {
      const r = parseRules([rule({ annotations: { summary } })]);
      expect([...r.issues, ...checkRuleSet(r.rules, { prom: fileTarget }, at)]).toEqual([]);
      const file = `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: { summary: ${JSON.stringify(summary)} }\n`;
      expect(await promtoolCheckRules(file)).toMatchObject({ code: 0 });
    }
    expect(problem(rule({ annotations: { summary: "{{ if 1 }}" } })).message).toContain(
      "{{ if }} has no {{ end }}",
    );
  });

  test("a $variable the template neither declares nor its peer defines is refused for that peer, as promtool refuses it", async () => {
    const set = parsed([
      rule({ id: "undef", annotations: { summary: "{{ range $x }}{{ end }} {{ $undefinedvar }}" } }),
      // vmalert's own $expr: a Prometheus target would refuse it, a vmalert target takes it.
      rule({ id: "expr", name: "E", annotations: { q: "{{ $expr }}" } }),
      rule({ id: "vm-expr", name: "V", annotations: { q: "{{ $expr }}" }, targets: ["vm"] }),
    ]);
    expect(checkRuleSet(set, { prom: fileTarget, vm }, at)).toEqual([
      refused(
        "undef",
        "annotations.summary",
        'uses $x, $undefinedvar, which Prometheus\'s templates do not define; Prometheus target "prom" would refuse the rule file',
      ),
      refused(
        "expr",
        "annotations.q",
        'uses $expr, which Prometheus\'s templates do not define; Prometheus target "prom" would refuse the rule file',
      ),
    ]);
    for (const summary of ["{{ range $x }}{{ end }}", "{{ $undefinedvar }}", "{{ $expr }}"]) {
      const file = `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: { summary: ${JSON.stringify(summary)} }\n`;
      expect((await promtoolCheckRules(file)).code).not.toBe(0);
    }
  });

  test("unknown fields, a missing severity and control characters", () => {
    expect(problem(rule({ sevrity: "critical" })).message).toContain("sevrity");
    const { severity: _s, ...noSeverity } = rule();
    expect(problem(noSeverity).field).toBe("severity");
    expect(problem(rule({ name: "bad\nname" })).field).toBe("name");
  });

  test("every problem of every rule is reported, each with its rule id", () => {
    const { issues } = parseRules([
      rule({ id: "a", for: "x" }),
      rule({ id: "b" }),
      rule({ id: "c", expr: "" }),
    ]);
    expect(issues.map((i) => `${i.rule_id} ${i.path}`)).toEqual(["a rules[0].for", "c rules[2].expr"]);
  });
});

describe("the rule set as a whole", () => {
  test("the same alert twice in a group (name, severity, labels and expression) is refused", () => {
    // As Prometheus sees it, another expression or other labels make another series: accepted.
    expect(checkRuleSet(parsed([rule({ id: "a" }), rule({ id: "c", expr: "up == 2" })]), {}, at)).toEqual([]);
    const issues = checkRuleSet(parsed([rule({ id: "a" }), rule({ id: "b" })]), {}, at);
    expect(issues).toEqual([
      refused(
        "b",
        "name",
        'duplicate alert "InstanceDown" (severity critical) in group "availability": rule "a" has it already',
      ),
    ]);
    // The usual warning/critical pair and the same name in another group are fine.
    const ok = parsed([
      rule({ id: "a" }),
      rule({ id: "b", severity: "warning" }),
      rule({ id: "c", group: "other" }),
    ]);
    expect(checkRuleSet(ok, {}, at)).toEqual([]);
  });

  test("duplicate ids, unknown targets and disagreeing vmalert group fields", () => {
    const issues = checkRuleSet(
      parsed([
        rule({ id: "a", targets: ["prom", "nope"], vmalert: { concurrency: 2 } }),
        rule({ id: "a", name: "Other", vmalert: { concurrency: 3 } }),
      ]),
      { prom: fileTarget },
      at,
    );
    expect(issues.map((i) => [i.rule_id, i.field])).toEqual([
      ["a", "targets[1]"],
      ["a", "id"],
      ["a", "vmalert.concurrency"],
    ]);
  });

  test("a template function Prometheus does not define is refused for a Prometheus target, as promtool refuses it; vmalert's own are kept for vmalert", () => {
    const set = parsed([
      rule({
        id: "typo",
        annotations: { summary: '{{ nosuchfunc $labels.instance }} on {{ "x" | humanise }}' },
      }),
      rule({
        id: "vm-only",
        name: "V",
        annotations: { summary: "{{ $labels.job | jsonEscape }}" },
        targets: ["vm"],
      }),
      rule({
        id: "fine",
        name: "F",
        annotations: { summary: '{{ with query "up" }}{{ . | first | value | humanize }}{{ end }}' },
      }),
    ]);
    // A comment may hold quotes and braces (promtool takes it).
    const commented = rule({
      id: "commented",
      annotations: { summary: `{{/* it's "a {{ comment */}}{{- /* trimmed */ -}}x` },
    });
    expect(parseRules([commented]).issues).toEqual([]);
    expect(checkRuleSet(set, { prom: fileTarget, vm }, at)).toEqual([
      refused(
        "typo",
        "annotations.summary",
        'calls "nosuchfunc", "humanise", which Prometheus\'s templates do not define; Prometheus target "prom" would refuse the rule file',
      ),
    ]);
    // The list agrees with Debian's Prometheus 2.42: promtool takes each function (but the three
    // it is too old for) and refuses an unknown one.
    const dir = mkdtempSync(join(tmpdir(), "tmpl-funcs-"));
    const check = (fn: string) => {
      writeFileSync(
        join(dir, "r.yml"),
        `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    annotations: { s: "{{ if false }}{{ ${fn} }}{{ end }}" }\n`,
      );
      return Bun.spawnSync(["promtool", "check", "rules", join(dir, "r.yml")]).exitCode;
    };
    const newer = ["toDuration", "now", "urlQueryEscape"];
    for (const fn of PROMETHEUS_TEMPLATE_FUNCS)
      expect({ fn, code: check(fn) }).toEqual({ fn, code: newer.includes(fn) ? 1 : 0 });
    expect(check("nosuchfunc")).toBe(1);
  });

  test("a template function vmalert does not define is refused for a vmalert target, as vmalert -dryRun refuses it", async () => {
    const set = parsed([
      // Prometheus's own: Prometheus targets take it, vmalert refuses the whole file.
      rule({ id: "link", annotations: { graph: "{{ graphLink $labels.instance }}" } }),
      rule({ id: "vm-time", name: "T", annotations: { at: "{{ $value | toTime }}" }, targets: ["vm"] }),
    ]);
    expect(checkRuleSet(set, { prom: fileTarget, vm }, at)).toEqual([
      refused(
        "link",
        "annotations.graph",
        'calls "graphLink", which vmalert\'s templates do not define; vmalert target "vm" would refuse the rule file',
      ),
    ]);
    // The list agrees with Debian's vmalert: it takes each function (but those it is too old
    // for) and refuses an unknown one.
    const check = async (fn: string) =>
      (
        await vmalertDryRun(
          `groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    annotations: { s: "{{ if false }}{{ ${fn} }}{{ end }}" }\n`,
        )
      ).code;
    const newer = ["toTime", "parseDurationTime"];
    for (const fn of VMALERT_TEMPLATE_FUNCS)
      expect({ fn, takes: (await check(fn)) === 0 }).toEqual({ fn, takes: !newer.includes(fn) });
    expect(await check("graphLink")).not.toBe(0);
  });

  test("an expression a Prometheus target would not parse is refused, naming where; vmalert-only rules may be MetricsQL", () => {
    const set = parsed([
      rule({ id: "broken", expr: "sum by (job) rate(up[5m]) > 0" }),
      rule({ id: "metricsql", name: "Q", expr: "up default 0", targets: ["vm"] }),
      rule({
        id: "fine",
        name: "F",
        expr: 'histogram_quantile(0.9, sum by (le) (rate(x_bucket{a=~"b.*"}[5m])))',
      }),
    ]);
    expect(checkRuleSet(set, { prom: fileTarget, vm }, at)).toEqual([
      refused(
        "broken",
        "expr",
        'is not PromQL: a syntax error at character 14 ("rate(up[5m]) > 0"); Prometheus target "prom" would refuse it',
      ),
    ]);
    // What Prometheus 2.x reads is taken; what it refuses is not, and the place is the text's own.
    expect(promqlSyntaxError("holt_winters(x[5m], 0.5, 0.5) > 5. and up > 0XFF")).toBeUndefined();
    for (const bad of ["rate(x[5.m]) > 0", "up > 0x1.", "up > 5.and up"])
      expect(promqlSyntaxError(bad)).toBeDefined();
    expect(promqlSyntaxError("holt_winters(x[5m], 0.5, 0.5) > > 1")).toStartWith(
      'is not PromQL: a syntax error at character 33 ("> 1")',
    );
    // The same MetricsQL for a Prometheus target too: refused.
    const both = parsed([rule({ id: "metricsql", expr: "up default 0" })]);
    expect(checkRuleSet(both, { prom: fileTarget, vm }, at).map((i) => i.field)).toEqual(["expr"]);
  });

  test("two rules matching the same alerts but notifying differently are refused", () => {
    const issues = checkRuleSet(
      parsed([
        rule({ id: "a", notify: { channels: ["x"] } }),
        rule({ id: "b", group: "other", notify: { channels: ["y"] } }),
      ]),
      {},
      at,
    );
    expect(issues.map((i) => [i.rule_id, i.field])).toEqual([["b", "notify"]]);
  });
});

describe("__proto__ in a rule's labels or annotations", () => {
  test("is refused with its path, never dropped; the reserved __ prefix message applies", () => {
    const raw = JSON.parse(
      `[{"id":"p","name":"P","group":"g","severity":"critical","expr":"up == 0","labels":{"__proto__":"x","constructor":"c"},"annotations":{"__proto__":"y"}}]`,
    );
    const { issues } = parseRules(raw);
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ["rules[0].labels.__proto__", expect.stringContaining("names starting with __ are reserved")],
      ["rules[0].annotations.__proto__", expect.stringContaining("names starting with __ are reserved")],
    ]);
    const ok = parseRules([{ ...raw[0], labels: { constructor: "c" }, annotations: {} }]);
    expect(ok.issues).toEqual([]);
    expect(ok.rules[0].labels).toEqual({ constructor: "c" });
  });
});
