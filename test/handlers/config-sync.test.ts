/**
 * POST /jobs/config-sync through the real app (signed like QStash), with file targets in a
 * temp dir: operations, targets, dry_run, validation answers, hash-gated delivery and
 * versions, and the read routes /v1/sync/status and /v1/sync/plan. Verification against
 * running peers is in test/sync/e2e.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { tempDir } from "../support/peers.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule, sampleRules } from "../support/sync-rules.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two file targets (Prometheus and Alertmanager) in a fresh temp dir. */
function setup(extra = "", opts: Parameters<typeof makeSyncHarness>[1] = {}) {
  const dir = tempDir();
  dirs.push(dir);
  const prom = join(dir, "prometheus/alertagent.rules.yml");
  const am = join(dir, "alertmanager/alertmanager.yml");
  const h = makeSyncHarness(
    `
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: "${prom}" } }
    am: { kind: alertmanager, delivery: { type: file, path: "${am}" } }
${extra}`,
    opts,
  );
  return { h, dir, prom, am };
}

type Body = Record<string, unknown> & { targets: Record<string, unknown>[] };
const byTarget = (b: Body, name: string) =>
  b.targets.find((t) => t.target === name) as Record<string, unknown>;
const groupsIn = (path: string) =>
  (parse(readFileSync(path, "utf8")) as { groups: { name: string; rules: { alert: string }[] }[] }).groups;

describe("operations on the stored rule set", () => {
  test("create writes every target and answers per target {target, changed, version, hash, verified, diff}", async () => {
    const { h, prom, am } = setup();
    const res = await h.sync({ operation: "create", rules: sampleRules() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body).toMatchObject({ operation: "create", dry_run: false, rules: 3 });
    expect(byTarget(body, "prom")).toMatchObject({ changed: true, version: 1, verified: false, rules: 3 });
    expect(byTarget(body, "prom").hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(byTarget(body, "prom").diff).toContain('+      - alert: "HighCPU"');
    expect(byTarget(body, "prom").verified_how).toContain("not verified");
    expect(groupsIn(prom).map((g) => g.name)).toEqual(["kubernetes", "node"]);
    expect(readFileSync(am, "utf8")).toContain('receiver: "ops-dingtalk"');
  });

  test("update upserts by id; only the changed rule's lines are in the diff; the version goes up by one", async () => {
    const { h, prom } = setup();
    await h.sync({ operation: "create", rules: sampleRules() });
    const changed = { ...sampleRules()[0], expr: "avg(rate(node_cpu_seconds_total[5m])) > 0.95" };
    const body = (await (await h.sync({ operation: "update", rules: [changed] })).json()) as Body;
    const p = byTarget(body, "prom");
    expect(p).toMatchObject({ changed: true, version: 2 });
    expect(p.diff).toContain('-        expr: "100 - avg by (instance)');
    expect(p.diff).toContain('+        expr: "avg(rate(node_cpu_seconds_total[5m])) > 0.95"');
    expect(
      String(p.diff)
        .split("\n")
        .filter((l) => /^[-+][^-+]/.test(l)),
    ).toHaveLength(2 + 2); // expr + hash comment
    // The Alertmanager config does not depend on expr: unchanged, same version.
    expect(byTarget(body, "am")).toMatchObject({ changed: false, version: 1 });
    expect(readFileSync(prom, "utf8")).toContain("avg(rate(node_cpu_seconds_total[5m])) > 0.95");
    expect(readFileSync(`${prom}.prev`, "utf8")).toContain("100 - avg by (instance)");
  });

  test("delete removes by id and re-renders whole files; unknown ids are reported, not errors", async () => {
    const { h, prom } = setup();
    await h.sync({ operation: "create", rules: sampleRules() });
    const res = await h.sync({ operation: "delete", rule_ids: ["r-kube-crashloop", "r-never"] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      deleted: ["r-kube-crashloop"],
      not_found: ["r-never"],
      rules: 2,
    });
    expect(groupsIn(prom).map((g) => g.name)).toEqual(["node"]);
  });

  test("deleting a recording rule another rule still reads is done, with a warning naming both (the alert could never fire again)", async () => {
    const { h } = setup();
    const rec = { id: "rec", record: "job:up:sum", expr: "sum by (job) (up)", group: "availability" };
    const alert = rule({ id: "jd", name: "JobDown", expr: "job:up:sum < 1" });
    expect((await h.sync({ operation: "create", rules: [rec, alert] })).status).toBe(200);
    const res = await h.sync({ operation: "delete", rule_ids: ["rec"] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { warnings?: string[] };
    expect(body.warnings).toEqual([
      expect.stringMatching(/rule "jd" \(JobDown\) reads job:up:sum, which this sync removed/),
    ]);
    // Disabled, it records nothing either.
    const { h: h3 } = setup();
    await h3.sync({ operation: "create", rules: [rec, alert] });
    const off = await h3.sync({ operation: "update", rules: [{ ...rec, enabled: false }] });
    expect(((await off.json()) as { warnings?: string[] }).warnings).toEqual([
      expect.stringContaining('"jd" (JobDown)'),
    ]);
    // A rule that merely shares a prefix, or has the name as a label value, is no reader.
    const { h: h2 } = setup();
    const others = [
      rule({ id: "o", name: "Other", expr: "job:up:sum_by_zone < 1" }),
      rule({ id: "l", name: "Label", expr: 'absent(up{job="job:up:sum"})' }),
    ];
    await h2.sync({ operation: "create", rules: [rec, ...others] });
    expect(
      ((await (await h2.sync({ operation: "delete", rule_ids: ["rec"] })).json()) as { warnings?: string[] })
        .warnings,
    ).toBeUndefined();
  });

  test("delete with a numeric id past 2^53 is a 489 naming rule_ids[i]; its rounded neighbour stays", async () => {
    const { h, prom } = setup();
    const near = [
      rule({ id: "9007199254740992", name: "Neighbour" }),
      rule({ id: "9007199254740993", name: "Target" }),
    ];
    expect((await h.sync({ operation: "create", rules: near })).status).toBe(200);
    const res = await h.sync('{"operation":"delete","rule_ids":[9007199254740993]}');
    expect(res.status).toBe(489);
    expect(JSON.stringify(await res.json())).toContain("rule_ids[0]");
    expect(readFileSync(prom, "utf8")).toContain("Neighbour");
  });

  test("full replaces the whole set from the job", async () => {
    const { h, prom } = setup();
    await h.sync({ operation: "create", rules: sampleRules() });
    const res = await h.sync({ operation: "full", rules: [rule()] });
    expect(await res.json()).toMatchObject({ from: "job", rules: 1 });
    expect(groupsIn(prom)).toEqual([
      expect.objectContaining({
        name: "availability",
        rules: [expect.objectContaining({ alert: "InstanceDown" })],
      }),
    ]);
  });

  test("full without rules fetches config_sync.source (with its Bearer token)", async () => {
    const seen: string[] = [];
    const source = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        seen.push(req.headers.get("authorization") ?? "");
        return Response.json({ rules: sampleRules() });
      },
    });
    try {
      const { h, prom } = setup(
        `  source: { url: "http://127.0.0.1:${source.port}/api/v1/rules", token: src-token }`,
      );
      const res = await h.sync({ operation: "full" });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ from: "config_sync.source", rules: 3 });
      expect(seen).toEqual(["Bearer src-token"]);
      expect(groupsIn(prom)).toHaveLength(2);
    } finally {
      source.stop(true);
    }
  });

  test("a source answering no rules while rules are deployed is not taken as the set: 503, the rules stay", async () => {
    let answer: unknown[] = sampleRules();
    const source = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json(answer) });
    try {
      const { h, prom } = setup(`  source: { url: "http://127.0.0.1:${source.port}/api/v1/rules" }`);
      expect((await h.sync({ operation: "full" })).status).toBe(200);
      answer = []; // the rule API mid-incident: up, and empty
      const res = await h.sync({ operation: "full" });
      expect(res.status).toBe(503);
      const said = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(said.code).toBe("source_empty");
      expect(said.message).toContain('"rules": []');
      expect(groupsIn(prom)).toHaveLength(2);
      // The plan says the same rather than showing every rule gone.
      const plan = await h.request("/v1/sync/plan");
      expect(plan.status).toBe(503);
      expect(JSON.stringify(await plan.json())).toContain("source_empty");
      // A worker whose store lost its state (a new store, the same files) does not empty them either.
      const lost = makeSyncHarness(`
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: "${prom}" } }
  source: { url: "http://127.0.0.1:${source.port}/api/v1/rules" }
`);
      expect((await lost.sync({ operation: "full" })).status).toBe(503);
      expect(groupsIn(prom)).toHaveLength(2);
      // Clearing them is still possible, said in the job itself.
      expect((await h.sync({ operation: "full", rules: [] })).status).toBe(200);
      expect(groupsIn(prom)).toHaveLength(0);
    } finally {
      source.stop(true);
    }
  });

  test("the same set again delivers nothing and keeps the version", async () => {
    const { h, prom } = setup();
    await h.sync({ operation: "create", rules: sampleRules() });
    // Written again, the file would be a new one (temp file + rename): another inode.
    const before = statSync(prom).ino;
    const body = (await (await h.sync({ operation: "full", rules: sampleRules() })).json()) as Body;
    expect(body.targets.map((t) => [t.target, t.changed, t.version])).toEqual([
      ["am", false, 1],
      ["prom", false, 1],
    ]);
    expect(byTarget(body, "prom").diff).toBeUndefined();
    expect(statSync(prom).ino).toBe(before);
  });

  test("targets limits the sync; the others stay behind and the plan shows it", async () => {
    const { h, am } = setup();
    const body = (await (
      await h.sync({ operation: "create", rules: sampleRules(), targets: ["prom"] })
    ).json()) as Body;
    expect(body.targets.map((t) => t.target)).toEqual(["prom"]);
    expect(existsSync(am)).toBe(false);
    const plan = await h.json<Body>("/v1/sync/plan");
    expect(plan.targets.map((t) => [t.target, t.changed])).toEqual([
      ["am", true],
      ["prom", false],
    ]);
  });

  test("dry_run answers the plan and delivers nothing", async () => {
    const { h, prom } = setup();
    const body = (await (
      await h.sync({ operation: "create", rules: sampleRules(), dry_run: true })
    ).json()) as Body;
    expect(body.dry_run).toBe(true);
    expect(byTarget(body, "prom")).toMatchObject({ changed: true, version: 0, planned_version: 1 });
    expect(byTarget(body, "prom").diff).toContain("+++ prom v1 (planned)");
    expect(existsSync(prom)).toBe(false);
    expect((await h.json<{ rules: number }>("/v1/sync/status")).rules).toBe(0);
  });
});

describe("a retried job after a newer one", () => {
  test("a create retried after its rule was deleted does not bring it back: the retry delivers the set as stored", async () => {
    let up = false;
    const peer = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => (up ? new Response("ok") : new Response("down", { status: 503 })),
    });
    try {
      const { h, prom } = setup(
        `    side: { kind: prometheus, delivery: { type: http, url: "http://127.0.0.1:${peer.port}/rules", method: PUT } }\n`,
      );
      const temp = rule({ id: "r10", name: "TempTest", group: "tmp" });
      // The side peer is down: the create reaches the file and waits on QStash's retry there.
      expect((await h.sync({ operation: "create", rules: [temp] }, "msg_x")).status).toBe(503);
      expect(groupsIn(prom).map((g) => g.name)).toEqual(["tmp"]);
      up = true;
      const deleted = await h.sync({ operation: "delete", rule_ids: ["r10"] }, "msg_y");
      expect(deleted.status).toBe(200);
      expect(groupsIn(prom)).toEqual([]);
      // QStash's retry of the create, after the delete.
      const retry = await h.sync({ operation: "create", rules: [temp] }, "msg_x");
      expect(retry.status).toBe(200);
      expect(await retry.json()).toMatchObject({ operation: "create", applied_earlier: true, rules: 0 });
      expect(groupsIn(prom)).toEqual([]);
      // Another message with the same create is a new change, and makes it.
      expect((await h.sync({ operation: "create", rules: [temp] }, "msg_z")).status).toBe(200);
      expect(groupsIn(prom).map((g) => g.name)).toEqual(["tmp"]);
    } finally {
      peer.stop(true);
    }
  });
});

describe("a target ahead of the store beside one that took the change", () => {
  test("the answer says what the ahead target means, not that a peer refused the rules", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const targets = `
config_sync:
  targets:
    ta: { kind: prometheus, delivery: { type: file, path: "${dir}/a.yml" } }
    tb: { kind: prometheus, delivery: { type: file, path: "${dir}/b.yml" } }
`;
    expect(
      (await makeSyncHarness(targets).sync({ operation: "create", rules: [rule({ id: "r1" })] })).status,
    ).toBe(200);
    rmSync(`${dir}/a.yml`);
    // A store that lost its state: ta (its file gone) takes the new set, tb holds more than it knows.
    const res = await makeSyncHarness(targets).sync({
      operation: "create",
      rules: [rule({ id: "r2", name: "R2" })],
    });
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, error.code]).toEqual([503, "target_ahead_of_store"]);
    expect(error.message).not.toContain("keeps this change");
  });
});

describe("answers for jobs that cannot succeed", () => {
  test("a bad rule is a 489 naming the rule id and the field", async () => {
    const { h, prom } = setup();
    const res = await h.sync({
      operation: "create",
      rules: [rule({ id: "r-good" }), rule({ id: "r-bad", name: "X", for: "5 minutes" })],
    });
    expect(res.status).toBe(489);
    expect(res.headers.get("upstash-nonretryable-error")).toBe("true");
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({
      code: "invalid_rule",
      retryable: false,
      message: 'rule "r-bad": for: "5 minutes" is not a Prometheus duration (use e.g. 30s, 5m, 1h30m)',
      details: [{ rule_id: "r-bad", path: "rules[1].for", field: "for" }],
    });
    expect(existsSync(prom)).toBe(false);
  });

  test("a rule that clashes with a stored one names both", async () => {
    const { h } = setup();
    await h.sync({ operation: "create", rules: [rule({ id: "a" })] });
    const res = await h.sync({ operation: "create", rules: [rule({ id: "b" })] });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { message: string; details: { path: string }[] } };
    expect(error.message).toContain(
      'duplicate alert "InstanceDown" (severity critical) in group "availability": rule "a"',
    );
    expect(error.details[0].path).toBe("rules[0].name");
  });

  test("an unknown target, a wrong envelope, unknown top-level fields", async () => {
    const { h } = setup();
    const unknown = await h.sync({ operation: "create", rules: [rule()], targets: ["nope"] });
    expect(unknown.status).toBe(489);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_target");
    for (const body of [
      { operation: "delete", rules: [rule()] },
      { operation: "create" },
      { operation: "upsert", rules: [] },
      { operation: "full", rules: [], dryrun: true },
    ]) {
      const res = await h.sync(body);
      expect(res.status).toBe(489);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_payload");
    }
  });

  test("where the runtime has no files (Workers), a file delivery is a 489 that says why", async () => {
    const { h } = setup("", { fs: null });
    const res = await h.sync({ operation: "create", rules: [rule()], targets: ["prom"] });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("delivery_unavailable");
    expect(error.message).toContain("has no file system; use an http or mimir delivery");
  });

  test("a second sync while one runs answers 503 with Retry-After, at least QStash's own backoff (5 s would only spend a retry)", async () => {
    const { h } = setup();
    await h.deps.store.set("sync:lock", "someone-else", { ttlMs: 60_000 });
    const res = await h.sync({ operation: "create", rules: [rule()] });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("13");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("sync_in_progress");
  });

  test("a redelivered message replays its answer without syncing again", async () => {
    const { h } = setup();
    const first = await h.sync({ operation: "create", rules: [rule()] }, "msg-sync-1");
    const again = await h.sync({ operation: "create", rules: [rule()] }, "msg-sync-1");
    expect(again.headers.get("x-idempotent-replay")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
  });
});

describe("status, plan and metrics", () => {
  test("GET /v1/sync/status lists every target with version, hash, applied_at, verified and last_error", async () => {
    const { h } = setup();
    const before = await h.json<Body>("/v1/sync/status");
    expect(byTarget(before, "prom")).toMatchObject({
      kind: "prometheus",
      delivery: "file",
      version: 0,
      hash: null,
    });
    await h.sync({ operation: "create", rules: sampleRules() });
    const after = await h.json<Body>("/v1/sync/status");
    expect(after.rules).toBe(3);
    expect(byTarget(after, "prom")).toMatchObject({
      target: "prom",
      version: 1,
      verified: false,
      last_error: null,
      rules: 3,
      groups: ["kubernetes", "node"],
    });
    expect(byTarget(after, "prom").applied_at).toBeString();
    expect(byTarget(after, "prom").content).toBeUndefined();
  });

  test("GET /v1/sync/plan?target= shows one target's diff, 404 for an unknown one", async () => {
    const { h } = setup();
    await h.sync({ operation: "create", rules: sampleRules(), targets: ["prom"] });
    await h.sync({ operation: "update", rules: [rule()], targets: ["prom"] });
    // The stored set now has 4 rules; prom has them all, am has none yet.
    const prom = await h.json<Body>("/v1/sync/plan?target=prom");
    expect(prom).toMatchObject({
      from: "store",
      rules: 4,
      targets: [{ target: "prom", changed: false, diff: "" }],
    });
    const am = await h.json<Body>("/v1/sync/plan?target=am");
    expect(am.targets[0]).toMatchObject({ changed: true, version: 0, planned_version: 1 });
    expect(am.targets[0].diff).toContain('+  - name: "ops-dingtalk"');
    expect(am.targets[0].diff).not.toContain("qstash-test-token");
    expect((await h.request("/v1/sync/plan?target=nope")).status).toBe(404);
  });

  test("the routes need the admin token when one is set", async () => {
    const { h } = setup("", { worker: "admin_token: s3cret" });
    expect((await h.request("/v1/sync/status")).status).toBe(401);
    expect((await h.request("/v1/sync/plan")).status).toBe(401);
    const ok = await h.request("/v1/sync/status", { headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(200);
  });

  test("alertagent_config_sync_total{target,outcome} and alertagent_config_version{target}", async () => {
    const { h } = setup();
    await h.sync({ operation: "create", rules: sampleRules() });
    await h.sync({ operation: "full", rules: sampleRules() });
    const text = await (await h.request("/metrics")).text();
    expect(text).toContain('alertagent_config_sync_total{target="prom",outcome="applied"} 1');
    expect(text).toContain('alertagent_config_sync_total{target="prom",outcome="unchanged"} 1');
    expect(text).toContain('alertagent_config_version{target="am"} 1');
  });
});

describe("rule sets a peer would refuse are refused before any delivery, every problem at once", () => {
  test("a bad duration, group_by mixing '...' with labels and a '.' group for Mimir: one 489, three problems", async () => {
    const { h, prom } = setup(
      "    ruler: { kind: vmalert, delivery: { type: mimir, url: http://127.0.0.1:9, namespace: ns } }\n",
    );
    const res = await h.sync({
      operation: "create",
      rules: [
        rule({ id: "bad-for", for: "5 minutes" }),
        rule({ id: "mixed", name: "Mixed", notify: { channels: ["ops"], group_by: ["alertname", "..."] } }),
        rule({ id: "dot", name: "Dot", group: "." }),
      ],
    });
    expect(res.status).toBe(489);
    const body = (await res.json()) as {
      error: { code: string; details: { rule_id: string; path: string }[] };
    };
    expect(body.error.code).toBe("invalid_rule");
    expect(body.error.details.map((d) => [d.rule_id, d.path])).toEqual([
      ["bad-for", "rules[0].for"],
      ["mixed", "rules[1].notify.group_by"],
      ["dot", "rules[2].group"],
    ]);
    expect(existsSync(prom)).toBe(false);
  });
});

describe("the Alertmanager file holds the QStash token", () => {
  test("it is written 0600 (and its .prev copy too); rule files keep the default mode", async () => {
    const { h, prom, am } = setup();
    expect((await h.sync({ operation: "create", rules: sampleRules() })).status).toBe(200);
    const first = sampleRules()[0];
    await h.sync({
      operation: "update",
      rules: [{ ...first, notify: { channels: ["ops-dingtalk"], repeat_interval: "2h" } }],
    });
    expect(statSync(am).mode & 0o777).toBe(0o600);
    expect(statSync(`${am}.prev`).mode & 0o777).toBe(0o600);
    expect(statSync(prom).mode & 0o077).not.toBe(0);
  });
});
