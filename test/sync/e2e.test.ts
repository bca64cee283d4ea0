/**
 * End to end against running peers: Prometheus (--web.enable-lifecycle), Alertmanager and
 * vmalert (querying that Prometheus, notifying that Alertmanager), each on a free loopback
 * port with a temp dir, fed by file deliveries with reload URLs. One story, in order:
 * create → loaded and visible; update → changed; delete → gone; the same set again → nothing
 * delivered; a bad rule → 489; a reload refused (Prometheus) or not applied (vmalert) → 503
 * and rolled back; a target down → 503 and the status says why.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  PEER_STOP_MS,
  type Peer,
  startAlertmanager,
  startPrometheus,
  startVmalert,
} from "../support/peers.ts";
import { makeSyncHarness, type SyncHarness } from "../support/sync-harness.ts";
import { rule, sampleRules } from "../support/sync-rules.ts";

type Target = Record<string, unknown> & { target: string };
type Body = { targets: Target[]; error?: { code: string; message: string; details?: { targets: Target[] } } };
interface ApiGroup {
  name: string;
  file: string;
  rules: { name: string; duration: number; labels: Record<string, string> }[];
}

let prom: Peer & { rulesDir: string };
let am: Peer & { configPath: string };
let vm: Peer & { rulesDir: string };
let h: SyncHarness;
let startError: unknown;
const promFile = () => join(prom.rulesDir, "alertagent.yml");
const vmFile = () => join(vm.rulesDir, "alertagent.yml");

beforeAll(async () => {
  try {
    [prom, am] = await Promise.all([startPrometheus(), startAlertmanager()]);
    vm = await startVmalert(prom.url, am.url);
    h = makeSyncHarness(`
config_sync:
  targets:
    prometheus:
      kind: prometheus
      delivery: { type: file, path: "${promFile()}", reload_url: "${prom.url}/-/reload" }
    alertmanager:
      kind: alertmanager
      delivery: { type: file, path: "${am.configPath}", reload_url: "${am.url}/-/reload" }
    vmalert:
      kind: vmalert
      delivery: { type: file, path: "${vmFile()}", reload_url: "${vm.url}/-/reload" }
      omit_fields: [keep_firing_for, eval_offset]
      verify: { timeout: 4s }
`);
  } catch (e) {
    startError = e;
  }
}, 90_000);

afterAll(async () => {
  await Promise.all([prom?.stop(), am?.stop(), vm?.stop()]);
}, PEER_STOP_MS);

function ready(): void {
  if (startError) throw startError;
}

async function rulesOf(peer: Peer): Promise<ApiGroup[]> {
  const res = await fetch(`${peer.url}/api/v1/rules`);
  const groups = ((await res.json()) as { data: { groups: ApiGroup[] | null } }).data.groups ?? [];
  return groups.sort((a, b) => a.name.localeCompare(b.name));
}
const summary = (groups: ApiGroup[]) =>
  groups.map((g) => `${g.name}: ${g.rules.map((r) => r.name).join(", ")}`);

async function amConfig(): Promise<string> {
  const res = await fetch(`${am.url}/api/v2/status`);
  return ((await res.json()) as { config: { original: string } }).config.original;
}

const versions = (b: Body) => Object.fromEntries(b.targets.map((t) => [t.target, t.version]));

describe("config sync against running Prometheus, Alertmanager and vmalert", () => {
  test("create: every target loads the rules, and each read-back proves it", async () => {
    ready();
    const res = await h.sync({ operation: "create", rules: sampleRules() });
    const body = (await res.json()) as Body;
    expect({ status: res.status, error: body.error }).toEqual({ status: 200, error: undefined });
    expect(body.targets.map((t) => [t.target, t.changed, t.version, t.verified])).toEqual([
      ["alertmanager", true, 1, true],
      ["prometheus", true, 1, true],
      ["vmalert", true, 1, true],
    ]);
    const p = body.targets.find((t) => t.target === "prometheus") as Target;
    expect(p.verified_how).toBe(
      `GET ${prom.url}/api/v1/rules lists exactly kubernetes (1 rule), node (2 rules)`,
    );
    expect(summary(await rulesOf(prom))).toEqual([
      "kubernetes: KubePodCrashLooping",
      "node: DiskAlmostFull, HighCPU",
    ]);
    expect(summary(await rulesOf(vm))).toEqual([
      "kubernetes: KubePodCrashLooping",
      "node: DiskAlmostFull, HighCPU",
    ]);
    const original = await amConfig();
    const amTarget = body.targets.find((t) => t.target === "alertmanager") as Target;
    expect(original).toContain(`alertagent-config-${amTarget.hash}`);
    expect(original).toContain("receiver: ops-mail,ops-wecom");
    expect(original).toContain(
      "https://qstash.upstash.io/v2/publish/https://worker.example.com/jobs/notification",
    );
  }, 30_000);

  test("update: the changed rule is what the peers now run", async () => {
    ready();
    const cpu = { ...sampleRules()[0], for: "10m", labels: { team: "infra", tier: "1" } };
    const body = (await (await h.sync({ operation: "update", rules: [cpu] })).json()) as Body;
    expect(versions(body)).toEqual({ alertmanager: 2, prometheus: 2, vmalert: 2 });
    const high = (await rulesOf(prom))
      .find((g) => g.name === "node")
      ?.rules.find((r) => r.name === "HighCPU");
    expect(high).toMatchObject({ duration: 600, labels: { severity: "critical", team: "infra", tier: "1" } });
    const vmHigh = (await rulesOf(vm))
      .find((g) => g.name === "node")
      ?.rules.find((r) => r.name === "HighCPU");
    expect(vmHigh?.duration).toBe(600);
    expect(await amConfig()).toContain('tier="1"');
  }, 30_000);

  test("delete: the rule and its now empty group are gone", async () => {
    ready();
    const body = (await (
      await h.sync({ operation: "delete", rule_ids: ["r-kube-crashloop"] })
    ).json()) as Body;
    expect(versions(body)).toEqual({ alertmanager: 3, prometheus: 3, vmalert: 3 });
    expect(summary(await rulesOf(prom))).toEqual(["node: DiskAlmostFull, HighCPU"]);
    expect(summary(await rulesOf(vm))).toEqual(["node: DiskAlmostFull, HighCPU"]);
    expect(await amConfig()).not.toContain("KubePodCrashLooping");
  }, 30_000);

  test("the same set again: nothing delivered, versions unchanged", async () => {
    ready();
    const before = [
      statSync(promFile()).mtimeMs,
      statSync(vmFile()).mtimeMs,
      statSync(am.configPath).mtimeMs,
    ];
    const current = (await h.deps.store.get<{ rules: unknown[] }>("sync:rules"))?.rules ?? [];
    const body = (await (await h.sync({ operation: "full", rules: current })).json()) as Body;
    expect(body.targets.map((t) => [t.target, t.changed, t.version])).toEqual([
      ["alertmanager", false, 3],
      ["prometheus", false, 3],
      ["vmalert", false, 3],
    ]);
    expect([
      statSync(promFile()).mtimeMs,
      statSync(vmFile()).mtimeMs,
      statSync(am.configPath).mtimeMs,
    ]).toEqual(before);
  }, 30_000);

  test("a bad rule: 489 naming the rule id and field; nothing reaches the peers", async () => {
    ready();
    const before = readFileSync(promFile(), "utf8");
    const res = await h.sync({
      operation: "create",
      rules: [rule({ id: "r-typo", labels: { "team-name": "x" } })],
    });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as Body;
    expect(error).toMatchObject({
      code: "invalid_rule",
      message: expect.stringContaining(
        'rule "r-typo": labels.team-name: "team-name" is not a valid label name',
      ),
    });
    // An expression Prometheus' grammar refuses is named too, before any peer sees it.
    const expr = await h.sync({
      operation: "create",
      rules: [rule({ id: "r-expr", expr: "sum by (job) rate(up[5m]) >" })],
    });
    expect(expr.status).toBe(489);
    expect(((await expr.json()) as Body).error?.message).toStartWith(
      'rule "r-expr": expr: is not PromQL: a syntax error at character 14',
    );
    expect(readFileSync(promFile(), "utf8")).toBe(before);
  });

  test("rules Prometheus and vmalert refuse: 489, rolled back, the old rules stay and the set does not keep them", async () => {
    ready();
    const promBefore = readFileSync(promFile(), "utf8");
    const vmBefore = readFileSync(vmFile(), "utf8");
    // Past validation, refused by the peers themselves: a range vector summed (a type error
    // Prometheus' parser finds, not its grammar), and for vmalert alone a rule it cannot parse
    // (vmalert-only rules may be MetricsQL, so validation leaves them to it).
    const res = await h.sync({
      operation: "create",
      rules: [
        rule({ id: "r-broken", expr: "sum(up[5m])", targets: ["prometheus"] }),
        rule({ id: "r-broken-vm", name: "BrokenVm", expr: "up ==", targets: ["vmalert"] }),
      ],
    });
    // Each took its previous file back at once: the new rules are what they refuse, on any retry.
    expect(res.status).toBe(489);
    expect(res.headers.get("retry-after")).toBeNull();
    const { error } = (await res.json()) as Body;
    expect(error?.code).toBe("sync_failed");
    const byName = Object.fromEntries((error?.details?.targets ?? []).map((t) => [t.target, t]));
    expect(byName.prometheus.error).toMatchObject({
      code: "config_refused",
      message: expect.stringMatching(
        /prometheus refused the reload \(POST .*\/-\/reload answered 500: failed to reload config.*the previous file was put back and reloaded: the previous config reloads, so it is the new one prometheus refuses/,
      ),
    });
    expect(byName.vmalert.error).toMatchObject({
      code: "config_refused",
      message: expect.stringContaining("vmalert refused the rule file"),
    });
    expect(byName.alertmanager).toMatchObject({ changed: false, version: 3 });
    expect(readFileSync(promFile(), "utf8")).toBe(promBefore);
    expect(readFileSync(vmFile(), "utf8")).toBe(vmBefore);
    expect(summary(await rulesOf(prom))).toEqual(["node: DiskAlmostFull, HighCPU"]);
    expect(summary(await rulesOf(vm))).toEqual(["node: DiskAlmostFull, HighCPU"]);
    const status = await h.json<Body>("/v1/sync/status");
    expect(status.targets.find((t) => t.target === "prometheus")).toMatchObject({
      version: 3,
      verified: false,
      last_error: { code: "config_refused" },
    });
    // The set did not keep the broken rule: there is nothing to delete. The next sync leaves the
    // targets where they are, and clears the error…
    const fixed = (await (
      await h.sync({ operation: "delete", rule_ids: ["r-broken", "r-broken-vm"] })
    ).json()) as Body & {
      not_found: string[];
    };
    expect(fixed.not_found).toEqual(["r-broken", "r-broken-vm"]);
    expect(fixed.targets.map((t) => [t.target, t.changed, t.version])).toEqual([
      ["alertmanager", false, 3],
      ["prometheus", false, 3],
      ["vmalert", false, 3],
    ]);
    // …and the targets that failed are read back again: they run version 3, verified.
    const after = await h.json<Body>("/v1/sync/status");
    expect(after.targets.map((t) => [t.target, t.version, t.verified, t.last_error])).toEqual([
      ["alertmanager", 3, true, null],
      ["prometheus", 3, true, null],
      ["vmalert", 3, true, null],
    ]);
    expect(after.targets.find((t) => t.target === "prometheus")?.verified_how).toContain(
      "lists exactly node (2 rules)",
    );
  }, 30_000);

  test("a target down: 503, the status says why, the others are delivered", async () => {
    ready();
    await vm.kill();
    const vmBefore = readFileSync(vmFile(), "utf8");
    const res = await h.sync({ operation: "create", rules: [rule({ id: "r-new" })] });
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as Body;
    expect(error?.message).toMatch(
      /^1 of 3 targets did not take the new config: vmalert: reloading vmalert: cannot reach http:\/\/127\.0\.0\.1:\d+\/-\/reload/,
    );
    const status = await h.json<Body>("/v1/sync/status");
    const vmStatus = status.targets.find((t) => t.target === "vmalert");
    expect(vmStatus).toMatchObject({
      version: 3,
      verified: false,
      last_error: { code: "target_unreachable", message: expect.stringContaining("cannot reach") },
    });
    expect(readFileSync(vmFile(), "utf8")).toBe(vmBefore);
    expect(status.targets.find((t) => t.target === "prometheus")).toMatchObject({
      version: 4,
      verified: true,
      last_error: null,
    });
    expect(summary(await rulesOf(prom))).toEqual([
      "availability: InstanceDown",
      "node: DiskAlmostFull, HighCPU",
    ]);
  }, 30_000);
});
