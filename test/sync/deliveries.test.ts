/**
 * The http and mimir deliveries against loopback services (a config sink, and a fake Mimir
 * that enforces the ruler's and Alertmanager's config APIs). File deliveries with reloads
 * and read-backs run against the real peers in e2e.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { loadRuleSet } from "../../src/sync/state.ts";
import { startFakeMimir } from "../support/fake-mimir.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule, sampleRules } from "../support/sync-rules.ts";

type Body = { targets: Record<string, unknown>[]; error?: Record<string, unknown> };

describe("http delivery", () => {
  const received: { method: string; headers: Headers; body: string }[] = [];
  let answer = 200;
  const sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      received.push({ method: req.method, headers: req.headers, body: await req.text() });
      if (answer === 303) return new Response(null, { status: 303, headers: { location: "/applied" } });
      return new Response(answer === 200 ? "ok" : "config rejected: groups[0] bad", { status: answer });
    },
  });
  afterAll(() => sink.stop(true));
  const h = makeSyncHarness(`
config_sync:
  targets:
    sidecar:
      kind: prometheus
      delivery: { type: http, url: "http://127.0.0.1:${sink.port}/rules/alertagent.yml", method: POST, headers: { X-Api-Key: k1 } }
`);

  test("sends the rendering with the configured method and headers; unverified without verify.url", async () => {
    const res = await h.sync({ operation: "create", rules: sampleRules() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body.targets[0]).toMatchObject({ target: "sidecar", changed: true, version: 1, verified: false });
    expect(received).toHaveLength(1);
    expect(received[0].method).toBe("POST");
    expect(received[0].headers.get("x-api-key")).toBe("k1");
    expect(received[0].headers.get("content-type")).toBe("application/yaml; charset=utf-8");
    expect(received[0].body).toContain('alert: "HighCPU"');
  });

  test("a 5xx is a failed sync QStash retries: 503, the status says why, the version stays", async () => {
    answer = 502;
    const res = await h.sync({ operation: "update", rules: [rule()] });
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("delivery_refused");
    expect(error.message).toContain("answered 502: config rejected: groups[0] bad");
    const status = await h.json<Body>("/v1/sync/status");
    expect(status.targets[0]).toMatchObject({
      version: 1,
      verified: false,
      last_error: { code: "delivery_refused", message: expect.stringContaining("answered 502") },
    });
    answer = 200;
    const retry = await h.sync({ operation: "update", rules: [rule()] });
    expect(((await retry.json()) as Body).targets[0]).toMatchObject({ changed: true, version: 2 });
    expect((await h.json<Body>("/v1/sync/status")).targets[0].last_error).toBeNull();
  });

  test("a 4xx refuses the config: 489 config_refused with the peer's words; the set drops it; the next sync sends the recorded rules again", async () => {
    answer = 422;
    const bad = rule({ id: "r-bad", name: "BadAgg", expr: "sum(up[5m]) > 0" });
    const res = await h.sync({ operation: "create", rules: [bad] });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("config_refused");
    expect(error.message).toContain("answered 422: config rejected: groups[0] bad");
    // The sidecar kept what it refused (it has no rollback): the recorded rendering goes again.
    expect(received.at(-1)?.body).toContain("BadAgg");
    answer = 200;
    const again = await h.sync({ operation: "update", rules: [rule()] });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Body).targets[0]).toMatchObject({ changed: false, version: 2 });
    expect(received.at(-1)?.body).not.toContain("BadAgg");
    expect(received.at(-1)?.body).toContain('alert: "InstanceDown"');
    expect((await h.json<Body>("/v1/sync/status")).targets[0].last_error).toBeNull();
  });

  test("a redirect is not followed (a 303 would read as applied): 489 delivery_redirected", async () => {
    answer = 303;
    const res = await h.sync({ operation: "create", rules: [rule({ id: "r-3", name: "Third" })] });
    answer = 200;
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("delivery_redirected");
    expect(received.at(-1)?.method).toBe("POST");
  });

  test("refused credentials (401) are a 489: waiting will not fix them", async () => {
    answer = 401;
    const res = await h.sync({ operation: "create", rules: [rule({ id: "r-2", name: "Other" })] });
    answer = 200;
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("delivery_refused");
    expect(error.message).toContain("credentials are refused");
  });
});

describe("mimir delivery", () => {
  const mimir = startFakeMimir();
  afterAll(() => mimir.stop());
  const h = makeSyncHarness(`
config_sync:
  targets:
    mimir-rules: { kind: prometheus, delivery: { type: mimir, url: "${mimir.url}", namespace: alertagent, tenant: team-a } }
    mimir-am: { kind: alertmanager, delivery: { type: mimir, url: "${mimir.url}", namespace: unused, tenant: team-a } }
`);
  const groups = () => [...(mimir.rules.get("team-a")?.get("alertagent")?.keys() ?? [])].sort();

  test("posts each group to the namespace and the Alertmanager config, then reads both back", async () => {
    const res = await h.sync({ operation: "create", rules: sampleRules() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body.targets).toEqual([
      expect.objectContaining({
        target: "mimir-am",
        verified: true,
        verified_how: expect.stringContaining("sha256:"),
      }),
      expect.objectContaining({
        target: "mimir-rules",
        verified: true,
        verified_how: expect.stringContaining("lists exactly kubernetes (1), node (2)"),
      }),
    ]);
    expect(groups()).toEqual(["kubernetes", "node"]);
    expect(mimir.alertmanager.get("team-a")).toContain('receiver: "ops-dingtalk"');
  });

  test("a group no longer in the set is deleted from the namespace", async () => {
    await h.sync({ operation: "delete", rule_ids: ["r-kube-crashloop"] });
    expect(groups()).toEqual(["node"]);
    expect(mimir.requests).toContain("DELETE /prometheus/config/v1/rules/alertagent/kubernetes");
  });

  test("a group the ruler refuses (400, its validation's words) is 489 config_refused; the set does not keep it", async () => {
    const bad = rule({ id: "r-bad", name: "BadAgg", group: "zz-bad", expr: "sum(up[5m]) > 0" });
    const res = await h.sync({ operation: "create", rules: [bad], targets: ["mimir-rules"] });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("config_refused");
    expect(error.message).toContain('group "zz-bad") answered 400');
    expect(error.message).toContain("expected type instant vector");
    expect(groups()).not.toContain("zz-bad");
    const set = await loadRuleSet(h.deps.store);
    expect(set.rules.map((r) => r.id)).not.toContain("r-bad");
  });

  test("a group past Mimir's default limit of 20 rules is 489 config_refused in Mimir's words naming the limit", async () => {
    const big = Array.from({ length: 21 }, (_, i) =>
      rule({ id: `r-big-${i}`, name: `Big${i}`, group: "zz-big", expr: `up{job="j${i}"} == 0` }),
    );
    const res = await h.sync({ operation: "create", rules: big, targets: ["mimir-rules"] });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("config_refused");
    expect(error.message).toContain("per-user rules per rule group limit (limit: 20 actual: 21) exceeded");
    expect(groups()).not.toContain("zz-big");
  });

  test("a ruler that accepts but does not apply fails the sync with what it lists", async () => {
    mimir.dropWrites = true;
    const res = await h.sync({ operation: "create", rules: [rule()], targets: ["mimir-rules"] });
    mimir.dropWrites = false;
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("not_applied");
    expect(error.message).toContain(
      "the ruler's namespace lists node (2); expected availability (1), node (2)",
    );
  });

  test("a change to one rule posts only its group; after a failed attempt every group goes again", async () => {
    const posts = () => mimir.requests.filter((r) => r.startsWith("POST /prometheus/"));
    // The test before left the target failed: a sync with nothing new delivers it whole again.
    const settle = await h.sync({ operation: "update", rules: [rule()], targets: ["mimir-rules"] });
    expect(((await settle.json()) as Body).targets[0]).toMatchObject({ verified: true });
    const from = posts().length;
    const res = await h.sync({
      operation: "update",
      rules: [{ ...sampleRules().find((r) => r.group === "node"), for: "7m" }],
      targets: ["mimir-rules"],
    });
    expect(res.status).toBe(200);
    expect(posts().slice(from)).toEqual(["POST /prometheus/config/v1/rules/alertagent"]);
    expect(mimir.rules.get("team-a")?.get("alertagent")?.get("node")?.rules).toContainEqual(
      expect.objectContaining({ for: "7m" }),
    );
    // A ruler that lost a write fails the read-back; the retry posts every group, not only the changed one.
    mimir.dropWrites = true;
    const lost = await h.sync({
      operation: "create",
      rules: [rule({ id: "r-node-2", name: "NodeGone", group: "node" })],
      targets: ["mimir-rules"],
    });
    mimir.dropWrites = false;
    expect(lost.status).toBe(503);
    const before = posts().length;
    const retry = await h.sync({ operation: "update", rules: [rule()], targets: ["mimir-rules"] });
    expect(retry.status).toBe(200);
    expect(groups()).toEqual(["availability", "node"]);
    expect(posts().length - before).toBe(2);
  });

  test("durations the ruler re-writes from their value (300s → 5m) read back as the same rule", async () => {
    const res = await h.sync({
      operation: "update",
      rules: [rule({ for: "300s" })],
      targets: ["mimir-rules"],
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Body).targets[0]).toMatchObject({
      verified: true,
      verified_how: expect.stringContaining("each rule as posted"),
    });
  });

  test("a ruler still holding the old copy of a changed rule (same groups, same counts) is not verified: 503 naming the field", async () => {
    expect((await h.sync({ operation: "update", rules: [rule()], targets: ["mimir-rules"] })).status).toBe(
      200,
    );
    for (const [change, field] of [
      [{ expr: "up{job='api'} == 0" }, "expr"],
      [{ for: "10m" }, "for"],
      [{ labels: { team: "db" } }, "labels"],
      [{ annotations: { summary: "down" } }, "annotations"],
    ] as const) {
      mimir.dropWrites = true;
      const res = await h.sync({ operation: "update", rules: [rule(change)], targets: ["mimir-rules"] });
      mimir.dropWrites = false;
      expect(res.status).toBe(503);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("not_applied");
      expect(error.message).toContain(
        `the ruler's group "availability" is not what was posted: another ${field} in rule 1 (InstanceDown)`,
      );
    }
    const settled = await h.sync({ operation: "update", rules: [rule()], targets: ["mimir-rules"] });
    expect(((await settled.json()) as Body).targets[0]).toMatchObject({ verified: true });
  });

  test("a group a refused attempt posted is the store's own: later syncs are not refused as lost state, and drop it", async () => {
    const good = rule({ id: "r-fresh", name: "FreshRule", group: "fresh" });
    const bad = rule({ id: "r-bad2", name: "BadAgg", group: "zz-bad", expr: "sum(up[5m]) > 0" });
    expect((await h.sync({ operation: "create", rules: [good, bad], targets: ["mimir-rules"] })).status).toBe(
      489,
    );
    expect(groups()).toContain("fresh"); // posted before the ruler refused the next group
    const other = await h.sync({
      operation: "create",
      rules: [rule({ id: "r-other", name: "Other", group: "availability" })],
      targets: ["mimir-rules"],
    });
    expect(other.status, await other.clone().text()).toBe(200);
    expect(groups()).not.toContain("fresh");
  });

  test("a worker whose store lost its state does not delete the groups it cannot know: 503 target_ahead_of_store, the namespace kept", async () => {
    const held = groups();
    expect(held.length).toBeGreaterThan(0);
    const lost = makeSyncHarness(`
config_sync:
  targets:
    mimir-rules: { kind: prometheus, delivery: { type: mimir, url: "${mimir.url}", namespace: alertagent, tenant: team-a } }
`);
    const res = await lost.sync({
      operation: "create",
      rules: [rule({ id: "r-late", name: "LateRule", group: "late" })],
    });
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain("target_ahead_of_store");
    expect(groups()).toEqual(held);
  });
});

describe("a peer answering an unexpected shape", () => {
  test("a ruler listing that is not groups is a 503 naming the read-back, with no internals in the answer", async () => {
    const odd = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        req.method === "GET" ? new Response("alertagent: not-a-list\n") : new Response("", { status: 202 }),
    });
    const h = makeSyncHarness(`
config_sync:
  targets:
    ruler: { kind: prometheus, delivery: { type: mimir, url: "http://127.0.0.1:${odd.port}", namespace: alertagent } }
`);
    const res = await h.sync({ operation: "create", rules: [rule()] });
    odd.stop(true);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    const text = await res.text();
    expect(text).toContain("target_bad_answer");
    expect(text).toContain("did not answer a rule-group listing");
    expect(text).not.toContain("is not a function");
    expect(text).not.toMatch(/TypeError|at .*\.ts:\d+/);
  });
});
