import { afterAll, describe, expect, test } from "bun:test";
import { storeUnavailable } from "../../src/errors.ts";
import type { Decision } from "../../src/scale/decide.ts";
import { recentDecisions } from "../../src/scale/run.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { startFakeQstash } from "../support/fake-qstash.ts";
import { makeHarness } from "../support/harness.ts";
import { around } from "../support/store-spy.ts";

const q = startFakeQstash("qs-token");
afterAll(() => q.stop());

const config = (cooldown = "5m") => `qstash:
  current_signing_key: sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r
  next_signing_key: sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs
  token: qs-token
  url: ${q.url}
  flow_control:
    analysis: { key: aa-analysis, parallelism: 4, min: 1, max: 16 }
    notification: { key: aa-notify, parallelism: 10, min: 5, max: 20 }
  autoscale: { cooldown: ${cooldown} }
`;

describe("POST /jobs/autoscale against QStash's flow-control API", () => {
  test("moves each key by its backlog, pins it in QStash and records the decision", async () => {
    q.setKey("aa-analysis", { waitListSize: 40, parallelismMax: 4 });
    q.setKey("aa-notify", { waitListSize: 0, parallelismMax: 10 });
    const h = makeHarness(config());
    const res = await h.job("/jobs/autoscale", {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      decisions: { key: string; from: number; to: number; reason: string }[];
    };
    expect(body.decisions).toEqual([
      { key: "aa-analysis", from: 4, to: 8, reason: expect.stringContaining("scaling up") },
      { key: "aa-notify", from: 10, to: 9, reason: expect.stringContaining("scaling down") },
    ]);
    expect(q.keys.get("aa-analysis")).toMatchObject({ parallelismMax: 8, isPinnedParallelism: true });
    expect(q.keys.get("aa-notify")?.parallelismMax).toBe(9);
    const recorded = await recentDecisions(h.deps.store, 10);
    expect(recorded.map((d) => d.key).sort()).toEqual(["aa-analysis", "aa-notify"]);
    expect(await h.deps.metrics.render()).toContain('alertagent_autoscale_parallelism{key="aa-analysis"} 8');
    const listed = (await (await h.request("/v1/autoscale/decisions")).json()) as { decisions: Decision[] };
    expect(listed.decisions[0]).toMatchObject({ inputs: { wait_list: expect.any(Number) } });
  });

  test("the cooldown holds a second move", async () => {
    q.setKey("aa-analysis", { waitListSize: 40, parallelismMax: 4 });
    q.setKey("aa-notify", { waitListSize: 10, parallelismMax: 10 });
    const h = makeHarness(config());
    await h.job("/jobs/autoscale", { keys: ["aa-analysis"] });
    q.keys.get("aa-analysis")!.waitListSize = 400;
    const second = (await (await h.job("/jobs/autoscale", { keys: ["aa-analysis"] })).json()) as {
      decisions: { to: number; reason: string }[];
    };
    expect(second.decisions[0]).toMatchObject({ to: 8, reason: expect.stringContaining("cooldown") });
    expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(8);
  });

  test("the cooldown ends when it says, with a little slack: the next run of a schedule as long as the cooldown moves the key again", async () => {
    const { manualClock } = await import("../support/analysis.ts");
    const clock = manualClock();
    q.setKey("aa-analysis", { waitListSize: 40, parallelismMax: 4 });
    const h = makeHarness(config(), { now: clock.now, store: new MemoryStore(clock.now) });
    const run = async () =>
      (
        (await (await h.job("/jobs/autoscale", { keys: ["aa-analysis"] })).json()) as {
          decisions: { to: number; reason: string }[];
        }
      ).decisions[0];
    expect((await run()).to).toBe(8);
    q.keys.get("aa-analysis")!.waitListSize = 400;
    // The next run of a 5-minute schedule, delivered 2 s early (the marker was written after the
    // last decision): the cooldown is past for it, or a key would move every other run.
    clock.advance(5 * 60_000 - 2_000);
    expect(await run()).toMatchObject({ to: 16, reason: expect.stringContaining("scaling up") });
  });

  test("two instances on one store, each with its own metrics: one's failures are not judged again by the other's run", async () => {
    q.setKey("aa-analysis", { waitListSize: 10, parallelismMax: 8 });
    const store = new MemoryStore();
    const a = makeHarness(config("0s"), { store });
    const b = makeHarness(config("0s"), { store });
    for (let i = 0; i < 12; i++)
      a.deps.metrics.inc("jobs", { family: "analysis", outcome: "failed_transient" });
    const run = async (h: typeof a) =>
      (
        (await (await h.job("/jobs/autoscale", { keys: ["aa-analysis"] })).json()) as {
          decisions: { from: number; to: number; reason: string }[];
        }
      ).decisions[0];
    expect((await run(a)).reason).toContain("error rate"); // A's failures, once
    await run(b);
    // No job anywhere since: A has nothing new to judge.
    await run(a);
    const [latest] = await recentDecisions(store, 1);
    expect(latest.inputs).toMatchObject({ jobs: 0, error_rate: 0 });
  });

  test("a robot's 429s in the notification family leave the analysis key alone; its own 429s step it down and cap the next scale-up", async () => {
    const { manualClock } = await import("../support/analysis.ts");
    const clock = manualClock();
    q.setKey("aa-analysis", { waitListSize: 200, parallelismMax: 8 });
    const h = makeHarness(config("1m"), { now: clock.now, store: new MemoryStore(clock.now) });
    const run = async () =>
      (
        (await (await h.job("/jobs/autoscale", { keys: ["aa-analysis"] })).json()) as {
          decisions: { from: number; to: number; reason: string }[];
        }
      ).decisions[0];
    h.deps.metrics.inc("jobs", { family: "notification", outcome: "rate_limited" });
    expect(await run()).toMatchObject({ from: 8, to: 16 });
    clock.advance(61_000);
    for (let i = 0; i < 4; i++) h.deps.metrics.inc("jobs", { family: "analysis", outcome: "rate_limited" });
    for (let i = 0; i < 12; i++) h.deps.metrics.inc("jobs", { family: "analysis", outcome: "succeeded" });
    expect(await run()).toMatchObject({ from: 16, to: 12 });
    clock.advance(61_000);
    expect(await run()).toMatchObject({ from: 12, to: 15, reason: expect.stringContaining("scaling up") });
    clock.advance(61_000);
    expect(await run()).toMatchObject({
      from: 15,
      to: 15,
      reason: expect.stringContaining("16 turned jobs away lately"),
    });
  });

  test("an unhealthy worker backs off", async () => {
    q.setKey("aa-analysis", { waitListSize: 100, parallelismMax: 8 });
    const h = makeHarness(config("0s"));
    for (let i = 0; i < 10; i++)
      h.deps.metrics.inc("jobs", { family: "analysis", outcome: i < 5 ? "failed_transient" : "succeeded" });
    const res = (await (await h.job("/jobs/autoscale", { keys: ["aa-analysis"] })).json()) as {
      decisions: { to: number; reason: string }[];
    };
    expect(res.decisions[0]).toMatchObject({ to: 4, reason: expect.stringContaining("error rate") });
  });

  test("an unknown key is a 489 naming it; a QStash outage is a 503", async () => {
    const h = makeHarness(config());
    const bad = await h.job("/jobs/autoscale", { keys: ["nope"] });
    expect(bad.status).toBe(489);
    expect(((await bad.json()) as { error: { details: { path: string }[] } }).error.details[0].path).toBe(
      "keys[0]",
    );
    const down = await makeHarness(config().replace(q.url, "http://127.0.0.1:1")).job("/jobs/autoscale", {
      keys: ["aa-analysis"],
    });
    expect(down.status).toBe(503);
  });

  test("a key QStash does not know yet (nothing published under it) is held, and the other keys still move", async () => {
    q.keys.delete("aa-analysis");
    q.setKey("aa-notify", { waitListSize: 100, parallelismMax: 10 });
    const h = makeHarness(config());
    const res = await h.job("/jobs/autoscale", {});
    expect(res.status, await res.clone().text()).toBe(200);
    const { decisions } = (await res.json()) as { decisions: { key: string; to: number; reason: string }[] };
    expect(decisions).toEqual([
      expect.objectContaining({
        key: "aa-analysis",
        to: 4,
        reason: expect.stringContaining("no messages under this key yet"),
      }),
      expect.objectContaining({ key: "aa-notify", to: 20 }),
    ]);
    expect(q.keys.has("aa-analysis")).toBe(false); // not pinned
  });

  test("a pin QStash made but whose answer was lost: the redelivery finds the key in its cooldown, not moved twice", async () => {
    q.setKey("aa-analysis", { waitListSize: 40, parallelismMax: 4 });
    // A proxy before the fake QStash that passes every call on but loses the pin's answer.
    const proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const u = new URL(req.url);
        const res = await fetch(`${q.url}${u.pathname}${u.search}`, {
          method: req.method,
          headers: req.headers,
          body: req.method === "GET" ? undefined : await req.arrayBuffer(),
        });
        return u.pathname.endsWith("/pin") ? new Response("upstream timed out", { status: 504 }) : res;
      },
    });
    try {
      const h = makeHarness(config().replace(q.url, `http://127.0.0.1:${proxy.port}`));
      expect((await h.job("/jobs/autoscale", { keys: ["aa-analysis"] }, { messageId: "as2" })).status).toBe(
        503,
      );
      expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(8); // QStash made the move
      const again = await h.job("/jobs/autoscale", { keys: ["aa-analysis"] }, { messageId: "as2" });
      expect(again.status).toBe(200);
      const { decisions } = (await again.json()) as { decisions: { to: number; reason: string }[] };
      expect(decisions[0].reason).toContain("cooldown");
      expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(8);
    } finally {
      proxy.stop(true);
    }
  });

  test("jobs refused as bad input are not ill health: a backlog still scales up", async () => {
    q.setKey("aa-analysis", { waitListSize: 40, parallelismMax: 8 });
    const h = makeHarness(config());
    for (let i = 0; i < 6; i++) expect((await h.job("/jobs/analysis", { bogus: true })).status).toBe(489);
    const res = await h.job("/jobs/autoscale", { keys: ["aa-analysis"] });
    const { decisions } = (await res.json()) as { decisions: { to: number; reason: string }[] };
    expect(decisions[0].reason).not.toContain("unhealthy");
    expect(decisions[0].to).toBe(16);
  });

  test("a run that fails around its pin moves the key once, not again on the redelivery", async () => {
    q.setKey("aa-analysis", { waitListSize: 40, parallelismMax: 4 });
    // The store fails the first write of the key's last change (a store outage during the run).
    let failed = false;
    const store = around(new MemoryStore(), (method, call, args) => {
      if (method === "set" && String(args[0]).startsWith("autoscale:changed:") && !failed) {
        failed = true;
        return Promise.reject(storeUnavailable("the store did not answer"));
      }
      return call();
    });
    const h = makeHarness(config(), { store });
    expect((await h.job("/jobs/autoscale", { keys: ["aa-analysis"] }, { messageId: "as1" })).status).toBe(
      503,
    );
    expect((await h.job("/jobs/autoscale", { keys: ["aa-analysis"] }, { messageId: "as1" })).status).toBe(
      200,
    );
    expect(q.keys.get("aa-analysis")?.parallelismMax).toBe(8);
  });

  test("without qstash.token the job fails permanently with the reason", async () => {
    const h = makeHarness("");
    const res = await h.job("/jobs/autoscale", {});
    expect(res.status).toBe(489);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("qstash.token");
  });
});
