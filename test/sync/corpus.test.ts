/**
 * A real rule corpus (test/fixtures/corpus/: public rule collections, sources and licences in
 * its README) through config sync: every rule accepted, the renderings pass Debian's promtool,
 * `vmalert -dryRun` and amtool, every rendered rule equals its source field by field (templates
 * byte for byte), and running Prometheus and vmalert load them all healthy.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { renderTarget } from "../../src/sync/render.ts";
import type { Rule } from "../../src/sync/rule.ts";
import { checkRuleSet, parseRules } from "../../src/sync/validate.ts";
import { corpusGroups, corpusRules, type SourceRule } from "../support/corpus.ts";
import {
  amtoolCheckConfig,
  PEER_STOP_MS,
  type Peer,
  promtoolCheckRules,
  startPrometheus,
  startVmalert,
  vmalertDryRun,
} from "../support/peers.ts";
import { makeSyncHarness, SYNC_YAML_HEAD } from "../support/sync-harness.ts";

const raw = corpusRules();
const config = loadConfig(`${SYNC_YAML_HEAD}
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/p.yml } }
    vm: { kind: vmalert, delivery: { type: file, path: /tmp/v.yml }, omit_fields: [keep_firing_for, eval_offset] }
    am: { kind: alertmanager, delivery: { type: file, path: /tmp/a.yml } }
`);

let rules: Rule[] = [];
const render = async (t: string) =>
  (await renderTarget(t, config.config_sync.targets[t], rules, config)).content;

/** A rule as Prometheus reads it, with empty maps and absent fields alike. */
function normal(r: SourceRule): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ["alert", "record", "expr", "for", "keep_firing_for"] as const)
    if (r[k] !== undefined) out[k] = r[k];
  if (r.labels && Object.keys(r.labels).length) out.labels = r.labels;
  if (r.annotations && Object.keys(r.annotations).length) out.annotations = r.annotations;
  return out;
}
const canonical = (rs: SourceRule[]) =>
  rs.map((r) => JSON.stringify(normal(r), Object.keys(normal(r)).sort())).sort();

describe("a real rule corpus", () => {
  test("holds at least 300 alerting and 50 recording rules, and the model accepts every one", () => {
    expect(raw.filter((r) => r.name !== undefined).length).toBeGreaterThanOrEqual(300);
    expect(raw.filter((r) => r.record !== undefined).length).toBeGreaterThanOrEqual(50);
    const parsed = parseRules(raw);
    const issues = [...parsed.issues, ...checkRuleSet(parsed.rules, config.config_sync.targets, (id) => id)];
    expect(issues).toEqual([]);
    rules = parsed.rules;
  });

  test("the renderings pass promtool check rules, vmalert -dryRun and amtool check-config", async () => {
    for (const [check, target] of [
      [promtoolCheckRules, "prom"],
      [vmalertDryRun, "vm"],
      [amtoolCheckConfig, "am"],
    ] as const) {
      const r = await check(await render(target));
      expect({ target, code: r.code, output: r.code === 0 ? "" : r.output.slice(0, 2000) }).toEqual({
        target,
        code: 0,
        output: "",
      });
    }
  }, 60_000);

  test("every rendered rule equals its source, field by field", async () => {
    const rendered = (parse(await render("prom")) as { groups: { name: string; rules: SourceRule[] }[] })
      .groups;
    const byName = new Map(rendered.map((g) => [g.name, g.rules]));
    const sources = corpusGroups();
    expect([...byName.keys()].sort()).toEqual(sources.map((g) => g.name).sort());
    for (const g of sources)
      expect({ group: g.name, rules: canonical(byName.get(g.name) ?? []) }).toEqual({
        group: g.name,
        rules: canonical(g.rules),
      });
  });
});

describe("the corpus loaded by running peers", () => {
  let prom: Peer & { rulesDir: string };
  let vm: Peer & { rulesDir: string };
  beforeAll(async () => {
    prom = await startPrometheus();
    vm = await startVmalert(prom.url, "http://127.0.0.1:9", { remoteWrite: "http://127.0.0.1:9" });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([prom?.stop(), vm?.stop()]);
  }, PEER_STOP_MS);

  test("one full sync to Prometheus, vmalert and an Alertmanager file: peers list every rule, none unhealthy", async () => {
    const amFile = join(prom.dir, "alertmanager.yml");
    const h = makeSyncHarness(`
config_sync:
  targets:
    alertmanager: { kind: alertmanager, delivery: { type: file, path: "${amFile}" } }
    prometheus: { kind: prometheus, delivery: { type: file, path: "${join(prom.rulesDir, "alertagent.yml")}", reload_url: "${prom.url}/-/reload" } }
    vmalert:
      kind: vmalert
      delivery: { type: file, path: "${join(vm.rulesDir, "alertagent.yml")}", reload_url: "${vm.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
`);
    const res = await h.sync({ operation: "full", rules: raw });
    const body = (await res.json()) as { targets: { target: string; verified: boolean }[] };
    expect({ status: res.status, body: res.status === 200 ? {} : body }).toEqual({ status: 200, body: {} });
    expect(body.targets.map((t) => [t.target, t.verified])).toEqual([
      ["alertmanager", false], // a file without a reload_url: written, not verifiable
      ["prometheus", true],
      ["vmalert", true],
    ]);
    const am = await amtoolCheckConfig(readFileSync(amFile, "utf8"));
    expect({ code: am.code, output: am.code ? am.output : "" }).toEqual({ code: 0, output: "" });
    await Bun.sleep(3_000); // a first evaluation of every group
    for (const peer of [prom, vm]) {
      const listed = (
        (await (await fetch(`${peer.url}/api/v1/rules`)).json()) as {
          data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
        }
      ).data.groups.flatMap((g) => g.rules);
      expect(listed.length).toBe(raw.length);
      expect(listed.filter((r) => r.health === "err").map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    }
  }, 120_000);
});

/**
 * Expressions Prometheus prints in another form than written (`GET /api/v1/rules` lists the
 * parsed query): grouping moved, `by ()` dropped, keywords lower-cased, numbers and durations by
 * value, quotes, escapes, `__name__` matchers, comments. Read back as the same expression.
 */
const PRINTED_OTHERWISE = [
  "sum(rate(x{job=\"a\",b=~'c.*'}[5m])) by (job) > 1e3",
  "a * on(x) group_left b offset 90s",
  "SUM BY () (up) > bool -1",
  "x[1h:5m] @ start()",
  "max_over_time(y[300s:]) == 0x10 unless up > Inf",
  "sum without () (up)",
  "- 1 + +up",
  'up{job=`a\\.b`} or up{job="a\\\\.b", env="a\\"b"}',
  '{__name__="up",job="x"} * on(job) {__name__="up", job="y"}',
  "count by (a,b) (up) / ignoring (c) group_right () up",
  "up offset -5m and rate(x[1m30s]) != NaN",
  'up{job="中文"} # a comment\n  > 0',
  "predict_linear(x[6h], 4 * 3600) < 0",
  "x % 2 ^ 3 and on() y @ 1609746000",
  // What a review found printed otherwise: a spaced minus, an empty ignoring() with its group_left,
  // Go's octal numbers, `@` to the millisecond, byte escapes read as UTF-8.
  "deriv(x[1h]) < - 0.5 and up > - Inf",
  "up * ignoring() group_left(a) up + - -1 > +-1",
  "up > 010 and up @ 100.0001 and up > -0x10 and up @ -0.0005",
  // What Prometheus 2.x reads but the 3.x grammar does not: holt_winters, `5.`, `1.e3`, `0X`.
  "holt_winters(x[1h], 0.5, 0.5) > 5. and up > 0XFF and up > 1.e3",
  // …but not inside strings, which Prometheus prints decoded.
  'up{a="1\\x2e"} or up{a="\\x30X1F"} or up{a="holt_winters(5."}',
  'up{job="\\xc3\\xa9"} or up{job="\\303\\251"}',
];

describe("expressions Prometheus prints otherwise", () => {
  let prom: Peer & { rulesDir: string };
  beforeAll(async () => {
    prom = await startPrometheus();
  }, 60_000);
  afterAll(() => prom?.stop(), PEER_STOP_MS);

  test("the corpus and these forms read back as sent from a Prometheus that reloads by itself (expressions compared); a changed threshold does not", async () => {
    // verify.url without reload_url: the worker does not reload, so it compares expressions.
    const h = makeSyncHarness(`
config_sync:
  targets:
    prometheus:
      kind: prometheus
      delivery: { type: file, path: "${join(prom.rulesDir, "forms.yml")}" }
      verify: { url: "${prom.url}", timeout: 300ms }
`);
    const forms = PRINTED_OTHERWISE.map((expr, i) => ({
      id: `f${i}`,
      record: `forms:f${i}`,
      group: "forms",
      expr,
    }));
    const sync = async (set: unknown[]) => {
      const res = await h.sync({ operation: "full", rules: set });
      const body = (await res.json()) as {
        error?: { code: string; message: string };
        targets?: { verified: boolean }[];
      };
      return {
        status: res.status,
        said: body.error
          ? `${body.error.code}: ${body.error.message.slice(0, 300)}`
          : body.targets?.[0]?.verified,
      };
    };
    const reload = async () =>
      expect((await fetch(`${prom.url}/-/reload`, { method: "POST" })).status).toBe(200);
    const all = [...raw, ...forms];
    expect((await sync(all)).status).toBe(503); // written, not yet loaded
    await reload();
    expect(await sync(all)).toEqual({ status: 200, said: true });
    const printed = await (await fetch(`${prom.url}/api/v1/rules`)).text();
    expect(printed).toContain("sum by (job) (rate("); // Prometheus did print them otherwise
    // One threshold changed, not reloaded yet: not verified.
    const changed = all.map((r) =>
      r === forms[0] ? { ...forms[0], expr: forms[0].expr.replace("1e3", "1e2") } : r,
    );
    expect((await sync(changed)).said).toStartWith("not_applied");
    await reload();
    expect(await sync(changed)).toEqual({ status: 200, said: true });
  }, 120_000);
});
