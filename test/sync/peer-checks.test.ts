/**
 * Every rendering passes the peers' own checkers (Debian's promtool, amtool and vmalert):
 * the shared sample and adversarial rule sets, and the Alertmanager route tree sends sample
 * alerts where the rules say.
 */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { matcher, receiverName } from "../../src/sync/alertmanager.ts";
import { renderTarget } from "../../src/sync/render.ts";
import type { Rule } from "../../src/sync/rule.ts";
import { checkRuleSet, parseRules } from "../../src/sync/validate.ts";
import { amtoolCheckConfig, amtoolRoutes, promtoolCheckRules, vmalertDryRun } from "../support/peers.ts";
import { SYNC_YAML_HEAD } from "../support/sync-harness.ts";
import {
  GO_TEMPLATE_RULES,
  manyGroups,
  QUOTES_AND_COLONS_RULES,
  type RawRule,
  rule,
  sampleRules,
  UNICODE_RULES,
} from "../support/sync-rules.ts";

// Debian 12's vmalert (1.79) knows neither keep_firing_for nor eval_offset, and its Prometheus
// (2.42) no query_offset: the targets say so.
const config = loadConfig(`${SYNC_YAML_HEAD}
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/p.yml }, omit_fields: [query_offset] }
    vm: { kind: vmalert, delivery: { type: file, path: /tmp/v.yml }, omit_fields: [keep_firing_for, eval_offset] }
    am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml } }
`);

/** Shapes of real rule collections: recording rules, any severity, same-name alerts told apart by labels, group options. */
export const REAL_SHAPES: RawRule[] = [
  {
    id: "rec-1",
    record: "apiserver_request:burnrate1h",
    group: "kube-apiserver-burnrate",
    expr: "sum(rate(apiserver_request_total[1h]))",
    labels: { verb: "read" },
    group_options: { interval: "30s", limit: 100, query_offset: "1m" },
  },
  {
    id: "rec-2",
    record: "apiserver_request:burnrate6h",
    group: "kube-apiserver-burnrate",
    expr: "sum(rate(apiserver_request_total[6h]))",
    labels: { verb: "read" },
  },
  {
    id: "burn-long",
    name: "KubeAPIErrorBudgetBurn",
    group: "kube-apiserver-slos",
    severity: "critical",
    expr: "apiserver_request:burnrate1h > (14.40 * 0.01)",
    for: "2m",
    labels: { long: "1h", short: "5m" },
    annotations: { summary: "The API server is burning too much error budget." },
    notify: { channels: ["ops-page"] },
  },
  {
    id: "burn-short",
    name: "KubeAPIErrorBudgetBurn",
    group: "kube-apiserver-slos",
    severity: "critical",
    expr: "apiserver_request:burnrate6h > (6.00 * 0.01)",
    for: "15m",
    labels: { long: "6h", short: "30m" },
    annotations: { summary: "The API server is burning too much error budget." },
    notify: { channels: ["ops-page"] },
  },
  {
    id: "watchdog",
    name: "Watchdog",
    group: "general.rules",
    severity: "none",
    expr: "vector(1)",
    annotations: { summary: "An alert that should always be firing." },
  },
  {
    id: "paged",
    name: "BackupMissing",
    group: "general.rules",
    severity: "page",
    expr: "time() - backup_last_success_timestamp_seconds > 86400",
    notify: { channels: ["ops-page"] },
  },
];

const SETS: Record<string, RawRule[]> = {
  "the shared sample": sampleRules(),
  "real rule shapes": REAL_SHAPES,
  "unicode names": UNICODE_RULES,
  "quotes and colons in values": QUOTES_AND_COLONS_RULES,
  "Go templates": GO_TEMPLATE_RULES,
  "300 rules in 60 groups": manyGroups(),
  "all of them together": [
    ...sampleRules(),
    ...UNICODE_RULES,
    ...QUOTES_AND_COLONS_RULES,
    ...GO_TEMPLATE_RULES,
    ...manyGroups(),
  ],
};

function valid(raw: RawRule[]): Rule[] {
  const { rules, issues } = parseRules(raw);
  issues.push(...checkRuleSet(rules, config.config_sync.targets, (id) => id));
  expect(issues).toEqual([]);
  return rules;
}

const render = async (target: string, rules: Rule[]) =>
  (await renderTarget(target, config.config_sync.targets[target], rules, config)).content;

describe("the rule model holds real rule sets", () => {
  test("recording rules, any severity, same-name alerts by labels and group options render where each peer takes them", async () => {
    const rules = valid(REAL_SHAPES);
    const prom = await render("prom", rules);
    expect(prom).toContain('record: "apiserver_request:burnrate1h"');
    expect(prom).toContain('- interval: "30s"\n    limit: 100\n    name: "kube-apiserver-burnrate"\n');
    expect(prom).not.toContain("query_offset");
    expect(prom).toContain('severity: "none"');
    expect(prom.match(/alert: "KubeAPIErrorBudgetBurn"/g)).toHaveLength(2);
    const vm = await render("vm", rules);
    expect(vm).toContain('record: "apiserver_request:burnrate6h"');
    expect(vm).toContain('interval: "30s"');
    const planned = await renderTarget("vm", config.config_sync.targets.vm, rules, config);
    expect(planned.omitted).toContain("query_offset (rec-1)");
    const am = await render("am", rules);
    expect(am).not.toContain("apiserver_request:burnrate");
    expect(am).toContain('severity=\\"page\\"');
  });
});

describe("renderings pass the peers' checkers", () => {
  for (const [name, raw] of Object.entries(SETS)) {
    test(`${name}: promtool check rules, vmalert -dryRun, amtool check-config`, async () => {
      const rules = valid(raw);
      const [prom, vm, am] = await Promise.all([
        render("prom", rules),
        render("vm", rules),
        render("am", rules),
      ]);
      const [p, v, a] = await Promise.all([
        promtoolCheckRules(prom),
        vmalertDryRun(vm),
        amtoolCheckConfig(am),
      ]);
      expect({ code: p.code, output: p.output }).toMatchObject({ code: 0 });
      expect(p.output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect({ code: v.code, output: v.output }).toMatchObject({ code: 0 });
      expect({ code: a.code, output: a.output }).toMatchObject({ code: 0 });
      expect(a.output).toContain("SUCCESS");
    }, 30_000);
  }
});

test("amtool refuses a zero group_interval or repeat_interval, as validation does (rule.test.ts), and takes a zero group_wait", async () => {
  const route = (timing: string) =>
    `route: { receiver: "r", routes: [{ receiver: "r", matchers: ['a="b"'], ${timing} }] }\nreceivers: [{ name: "r" }]\n`;
  const [gi, ri, gw] = await Promise.all([
    amtoolCheckConfig(route("group_interval: 0s")),
    amtoolCheckConfig(route("repeat_interval: 0s")),
    amtoolCheckConfig(route("group_wait: 0s")),
  ]);
  expect([gi.code, ri.code, gw.code]).toEqual([1, 1, 0]);
  expect(gi.output).toContain("group_interval cannot be zero");
  expect(ri.output).toContain("repeat_interval cannot be zero");
});

test("the checkers refuse a broken file, so a pass means something", async () => {
  const broken = 'groups:\n  - name: "x"\n    rules:\n      - alert: "A"\n        expr: "up =="\n';
  const [p, v, a] = await Promise.all([
    promtoolCheckRules(broken),
    vmalertDryRun(broken),
    amtoolCheckConfig('route: { receiver: "nobody" }\n'),
  ]);
  expect([p.code, v.code, a.code].every((c) => c !== 0)).toBe(true);
});

describe("the Alertmanager route tree sends alerts where the rules say (amtool config routes test)", () => {
  const all = valid(SETS["all of them together"]);
  let am: Promise<string> | undefined;
  const config = () => {
    am ??= render("am", all);
    return am;
  };
  /** The labels an alert from this rule carries (plus an instance, as a real alert would). */
  const labelsOf = (r: Rule) =>
    Object.fromEntries(
      Object.entries({
        ...r.labels,
        alertname: r.name,
        severity: r.severity ?? "",
        instance: "host-1:9100",
      }).map(([k, v]) => [k, v]),
    );
  const quoted = (labels: Record<string, string>) =>
    Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, matcher(k, v).slice(k.length + 1)]));

  const routed = all.filter((r) => r.notify && r.id.startsWith("m-") === false);
  for (const r of routed) {
    test(`${r.id} (${r.name}) → ${receiverName(r.notify?.channels ?? [])}`, async () => {
      expect(await amtoolRoutes(await config(), quoted(labelsOf(r)))).toBe(
        receiverName(r.notify?.channels ?? []),
      );
    });
  }

  test("a sample of the 60-group set routes by alertname and labels", async () => {
    const sample = all.filter((r) => r.notify && /^m-(0|13|59)-/.test(r.id));
    expect(sample.length).toBe(9);
    for (const r of sample)
      expect(await amtoolRoutes(await config(), quoted(labelsOf(r)))).toBe(
        receiverName(r.notify?.channels ?? []),
      );
  });

  test("a label Prometheus fills in when the alert fires (a template) routes the alert all the same", async () => {
    const [templated] = valid([
      rule({
        id: "tpl",
        name: "TemplatedLabel",
        labels: { instance_name: "{{ $labels.instance }}", team: "infra" },
        notify: { channels: ["ops-mail"] },
      }),
    ]);
    const fired = {
      alertname: '"TemplatedLabel"',
      severity: '"critical"',
      instance_name: '"127.0.0.1:9100"',
      team: '"infra"',
    };
    expect(await amtoolRoutes(await render("am", [templated]), fired)).toBe("ops-mail");
  });

  test("a route with more matchers is tried first, its severity a template or not", async () => {
    /** Two DiskFull rules: `critical` with `fixed` labels to ops-dingtalk; a templated severity with `templated` labels to ops-mail. */
    const pair = (fixed: Record<string, string>, templated: Record<string, string>) =>
      render(
        "am",
        valid([
          rule({
            id: "crit",
            name: "DiskFull",
            severity: "critical",
            labels: fixed,
            notify: { channels: ["ops-dingtalk"] },
          }),
          rule({
            id: "tpl",
            name: "DiskFull",
            severity: "{{ if gt $value 95.0 }}critical{{ else }}warning{{ end }}",
            labels: templated,
            notify: { channels: ["ops-mail"] },
          }),
        ]),
      );
    const critical = (labels: Record<string, string>) => ({
      alertname: '"DiskFull"',
      severity: '"critical"',
      ...quoted(labels),
    });
    const db = await pair({}, { team: "db", env: "prod" });
    expect(await amtoolRoutes(db, critical({ team: "db", env: "prod" }))).toBe("ops-mail");
    expect(await amtoolRoutes(db, critical({}))).toBe("ops-dingtalk");
    // The same number of matchers written, but the template's alerts carry a severity too.
    expect(await amtoolRoutes(await pair({}, { zone: "eu" }), critical({ zone: "eu" }))).toBe("ops-mail");
    // A tie: the written severity first, as the templated route's matchers are a subset of its.
    for (const labels of [{}, { env: "prod" }] as Record<string, string>[])
      expect(await amtoolRoutes(await pair(labels, labels), critical(labels))).toBe("ops-dingtalk");
  });

  test("an alert no rule routes, or with another severity, ends in the default receiver", async () => {
    expect(await amtoolRoutes(await config(), { alertname: '"SomethingElse"', severity: '"critical"' })).toBe(
      "alertagent-default",
    );
    expect(
      await amtoolRoutes(await config(), { alertname: '"HighCPU"', severity: '"warning"', team: '"infra"' }),
    ).toBe("alertagent-default");
  });
});
