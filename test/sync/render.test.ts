/**
 * Rendering (src/sync/render.ts and the renderers): canonical bytes, strings that survive any
 * YAML parser, what each target gets, vmalert extras and omit_fields, the Alertmanager config.
 */
import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import type { JobError } from "../../src/errors.ts";
import { statusOf } from "../../src/qstash/outcome.ts";
import { type Rendered, renderTarget } from "../../src/sync/render.ts";
import type { Rule } from "../../src/sync/rule.ts";
import { parseRules } from "../../src/sync/validate.ts";
import { quote, toYaml } from "../../src/sync/yaml.ts";
import { SYNC_YAML_HEAD } from "../support/sync-harness.ts";
import {
  GO_TEMPLATE_RULES,
  QUOTES_AND_COLONS_RULES,
  type RawRule,
  rule,
  sampleRules,
  UNICODE_RULES,
} from "../support/sync-rules.ts";

const config = loadConfig(`${SYNC_YAML_HEAD}
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/p.yml } }
    vm: { kind: vmalert, delivery: { type: file, path: /tmp/v.yml } }
    vm-old: { kind: vmalert, delivery: { type: file, path: /tmp/o.yml }, omit_fields: [keep_firing_for, eval_offset] }
    am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml } }
    node-only: { kind: prometheus, delivery: { type: file, path: /tmp/n.yml }, include: [node] }
`);

function rules(raw: RawRule[]): Rule[] {
  const r = parseRules(raw);
  expect(r.issues).toEqual([]);
  return r.rules;
}

const render = (target: string, raw: RawRule[]): Promise<Rendered> =>
  renderTarget(target, config.config_sync.targets[target], rules(raw), config);

/** The YAML body without the two header comment lines. */
const body = (r: Rendered) => parse(r.content) as Record<string, unknown>;

describe("canonical YAML", () => {
  test("the same set in any order gives the same bytes and the same hash", async () => {
    const a = await render("prom", sampleRules());
    const b = await render("prom", [...sampleRules()].reverse());
    expect(b.content).toBe(a.content);
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.content.split("\n").slice(0, 2)).toEqual([
      '# Managed by alertagent-worker config sync: target "prom" (prometheus). Edits here are overwritten.',
      `# ${a.hash}`,
    ]);
  });

  test("groups and rules are sorted; keys are sorted", async () => {
    const doc = body(await render("prom", sampleRules())) as {
      groups: { name: string; rules: { alert: string }[] }[];
    };
    expect(doc.groups.map((g) => g.name)).toEqual(["kubernetes", "node"]);
    expect(doc.groups[1].rules.map((r) => r.alert)).toEqual(["DiskAlmostFull", "HighCPU"]);
    expect(Object.keys(doc.groups[1].rules[1])).toEqual(["alert", "annotations", "expr", "for", "labels"]);
  });

  test("strings that YAML would read as something else stay strings, exactly", async () => {
    const r = await render("prom", QUOTES_AND_COLONS_RULES);
    const doc = body(r) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
    const written = doc.groups[0].rules.find((x) => x.alert === 'Quote"Alert: with colon') as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      expr: string;
    };
    const source = QUOTES_AND_COLONS_RULES[0] as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };
    expect(doc.groups[0].name).toBe('group: "quoted" # not a comment');
    expect(written.labels).toEqual({ ...source.labels, severity: "warning" });
    expect(written.annotations).toEqual(source.annotations);
    expect(written.expr).toBe(QUOTES_AND_COLONS_RULES[0].expr as string);
  });

  test("Go templates reach the file untouched (no template engine runs over a rule)", async () => {
    const doc = body(await render("prom", GO_TEMPLATE_RULES)) as {
      groups: { rules: { annotations: Record<string, string>; labels: Record<string, string> }[] }[];
    };
    const source = GO_TEMPLATE_RULES[0] as { annotations: Record<string, string> };
    expect(doc.groups[0].rules[0].annotations).toEqual(source.annotations);
    expect(doc.groups[0].rules[0].labels.instance_copy).toBe("{{ $labels.instance }}");
  });

  test("unicode is written as is, and what YAML cannot hold unescaped is escaped", async () => {
    const r = await render("prom", UNICODE_RULES);
    expect(r.content).toContain('alert: "高CPU使用率"');
    expect(r.content).toContain('emoji: "🔥 on fire"');
    expect(quote("a\u0085b\u2028c")).toBe('"a\\u0085b\\u2028c"');
    expect(parse(`v: ${quote("tab\there\nnl \u2029 \ufeff")}`)).toEqual({ v: "tab\there\nnl \u2029 \ufeff" });
  });

  test("the emitter's block forms; keys YAML 1.1 reads as booleans are quoted", () => {
    expect(toYaml({ b: [], a: {}, c: [{ y: 1, x: [true, null] }, "s"] })).toBe(
      'a: {}\nb: []\nc:\n  - x:\n      - true\n      - null\n    "y": 1\n  - "s"\n',
    );
  });
});

describe("what each target gets", () => {
  test("disabled rules, rules for other targets and groups outside include are left out", async () => {
    const raw = [
      ...sampleRules(),
      rule({ id: "off", enabled: false }),
      rule({ id: "elsewhere", name: "Elsewhere", targets: ["vm"] }),
    ];
    expect((await render("prom", raw)).rules).toBe(3);
    expect((await render("vm", raw)).rules).toBe(4);
    const nodeOnly = await render("node-only", raw);
    expect(nodeOnly.groups.map((g) => g.name)).toEqual(["node"]);
  });

  test("vmalert gets its group fields only on groups whose rules set them", async () => {
    const doc = body(await render("vm", sampleRules())) as { groups: Record<string, unknown>[] };
    expect(doc.groups[0]).toMatchObject({ name: "kubernetes", eval_offset: "30s" });
    expect(Object.keys(doc.groups[1])).toEqual(["name", "rules"]);
    const kube = doc.groups[0].rules as Record<string, unknown>[];
    expect(kube[0].keep_firing_for).toBe("5m");
  });

  test("omit_fields leaves out what an older vmalert refuses, and says so", async () => {
    const r = await render("vm-old", sampleRules());
    expect(r.content).not.toContain("eval_offset");
    expect(r.content).not.toContain("keep_firing_for");
    expect(r.omitted).toEqual(["keep_firing_for (r-kube-crashloop)", "eval_offset (r-kube-crashloop)"]);
  });

  test("a graphite vmalert rule goes to vmalert only", async () => {
    const raw = [rule({ id: "g", expr: "sumSeries(a.b.*)", vmalert: { type: "graphite" } })];
    expect((await render("prom", raw)).rules).toBe(0);
    expect((await render("vm", raw)).rules).toBe(1);
  });
});

describe("the Alertmanager config", () => {
  test("routes from each rule's notify, receivers that publish to /jobs/notification through QStash", async () => {
    const r = await render("am", sampleRules());
    const doc = body(r) as {
      route: { receiver: string; routes: Record<string, unknown>[] };
      receivers: { name: string; webhook_configs?: Record<string, unknown>[] }[];
      inhibit_rules: unknown[];
    };
    expect(doc.route.receiver).toBe("alertagent-default");
    expect(doc.route.routes).toEqual([
      { matchers: ['alertname="DiskAlmostFull"', 'severity="warning"'], receiver: "ops-mail,ops-wecom" },
      {
        group_by: ["alertname", "instance"],
        matchers: ['alertname="HighCPU"', 'severity="critical"', 'team="infra"'],
        receiver: "ops-dingtalk",
        repeat_interval: "4h",
      },
      {
        group_by: ["namespace", "pod"],
        matchers: ['alertname="KubePodCrashLooping"', 'severity="warning"'],
        receiver: "ops-dingtalk",
      },
    ]);
    expect(doc.receivers.map((x) => x.name)).toEqual([
      `alertagent-config-${r.hash}`,
      "alertagent-default",
      "ops-dingtalk",
      "ops-mail,ops-wecom",
    ]);
    expect(doc.receivers[2].webhook_configs).toEqual([
      {
        url: "https://qstash.upstash.io/v2/publish/https://worker.example.com/jobs/notification",
        send_resolved: true,
        http_config: { authorization: { type: "Bearer", credentials: "qstash-test-token" } },
      },
    ]);
    expect(doc.inhibit_rules).toEqual([
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["alertname", "instance"],
      },
    ]);
    expect(r.content).toContain(`# ${r.hash}\n`);
  });

  test("qstash_headers (Alertmanager ≥ 0.28): the receivers carry QStash's failure callback and flow control; off by default", async () => {
    const on = loadConfig(`${SYNC_YAML_HEAD}
config_sync: { targets: { am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml }, qstash_headers: true } } }`);
    const raw = [rule({ notify: { channels: ["ops-mail"] } })];
    const r = await renderTarget("am", on.config_sync.targets.am, rules(raw), on);
    const receivers = (
      body(r) as {
        receivers: { name: string; webhook_configs?: { http_config: Record<string, unknown> }[] }[];
      }
    ).receivers;
    const http = receivers.find((x) => x.name === "ops-mail")?.webhook_configs?.[0].http_config;
    expect(http?.http_headers).toMatchObject({
      "Upstash-Failure-Callback": { values: [`${on.worker.public_url?.replace(/\/+$/, "")}/jobs/failure`] },
    });
    const off = await render("am", raw);
    expect(off.content).not.toContain("http_headers");
    expect(() =>
      loadConfig(`${SYNC_YAML_HEAD}
config_sync: { targets: { p: { kind: prometheus, delivery: { type: file, path: /tmp/p.yml }, qstash_headers: true } } }`),
    ).toThrow("config_sync.targets.p.qstash_headers: is for alertmanager targets (this one is prometheus)");
  });

  test("the display copy masks the QStash token; the hash still follows it", async () => {
    const r = await render("am", sampleRules());
    expect(r.display).not.toContain("qstash-test-token");
    expect(r.display).toContain('credentials: "<secret>"');
    const other = loadConfig(`${SYNC_YAML_HEAD.replace("qstash-test-token", "rotated")}
config_sync: { targets: { am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml } } } }`);
    const rotated = await renderTarget("am", other.config_sync.targets.am, rules(sampleRules()), other);
    expect(rotated.hash).not.toBe(r.hash);
  });

  test("escapes quotes in matchers, and needs worker.public_url for receivers", async () => {
    const r = await render("am", QUOTES_AND_COLONS_RULES);
    expect(r.content).toContain(String.raw`"alertname=\"Quote\\\"Alert: with colon\""`);
    const bare = loadConfig(`qstash: { current_signing_key: a, next_signing_key: b }
config_sync: { targets: { am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml } } } }`);
    const refused = await renderTarget("am", bare.config_sync.targets.am, rules(sampleRules()), bare).catch(
      (e: JobError) => e,
    );
    expect({
      ...(refused as JobError),
      message: (refused as JobError).message,
      status: statusOf(refused as JobError),
    }).toMatchObject({
      status: 489,
      code: "config_error",
      message: expect.stringContaining("worker.public_url and qstash.token"),
    });
  });
});
