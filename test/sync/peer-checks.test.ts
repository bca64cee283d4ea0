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
  sampleRules,
  UNICODE_RULES,
} from "../support/sync-rules.ts";

// Debian 12's vmalert (1.79) knows neither keep_firing_for nor eval_offset: the target says so.
const config = loadConfig(`${SYNC_YAML_HEAD}
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/p.yml } }
    vm: { kind: vmalert, delivery: { type: file, path: /tmp/v.yml }, omit_fields: [keep_firing_for, eval_offset] }
    am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml } }
`);

const SETS: Record<string, RawRule[]> = {
  "the shared sample": sampleRules(),
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
      Object.entries({ ...r.labels, alertname: r.name, severity: r.severity, instance: "host-1:9100" }).map(
        ([k, v]) => [k, v],
      ),
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

  test("an alert no rule routes, or with another severity, ends in the default receiver", async () => {
    expect(await amtoolRoutes(await config(), { alertname: '"SomethingElse"', severity: '"critical"' })).toBe(
      "alertagent-default",
    );
    expect(
      await amtoolRoutes(await config(), { alertname: '"HighCPU"', severity: '"warning"', team: '"infra"' }),
    ).toBe("alertagent-default");
  });
});
