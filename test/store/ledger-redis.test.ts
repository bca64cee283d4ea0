/**
 * The ledger across instances: two workers (two Deps, two Redis connections) share one real
 * Redis. The same message delivered to both at once runs once; the other deliveries are told
 * to come back (503) or get the replay.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { z } from "zod";
import { nodeDial } from "../../src/entry/node-net.ts";
import { transient } from "../../src/errors.ts";
import { type JobHandler, parseJob } from "../../src/jobs/handler.ts";
import { runJob } from "../../src/jobs/runner.ts";
import { tcpStore } from "../../src/store/redis.ts";
import { makeHarness } from "../support/harness.ts";
import { around } from "../support/store-spy.ts";

const REDIS_URL = process.env.REDIS_URL;
const prefix = `test:ledger:${Date.now().toString(36)}:`;

describe("ledger on a shared Redis (two instances)", () => {
  if (!REDIS_URL) {
    test("needs a Redis server", () => {
      throw new Error(
        "REDIS_URL is not set: run scripts/test.sh, or install redis-server and export REDIS_URL=redis://127.0.0.1:PORT",
      );
    });
    return;
  }
  const a = makeHarness("", { store: tcpStore({ url: REDIS_URL, prefix, dial: nodeDial }) });
  const b = makeHarness("", { store: tcpStore({ url: REDIS_URL, prefix, dial: nodeDial }) });
  afterAll(async () => {
    await a.deps.store.close();
    await b.deps.store.close();
  });

  test("a message delivered to both instances at once runs exactly once", async () => {
    let runs = 0;
    const handler: JobHandler = {
      family: "notification",
      async handle(body) {
        parseJob(z.object({ n: z.number() }), body);
        runs++;
        await Bun.sleep(50);
        return { ok: true };
      },
    };
    const body = new TextEncoder().encode('{"n":1}');
    const deliver = (deps: typeof a.deps) =>
      runJob(deps, handler, {
        family: "notification",
        body,
        messageId: "msg_shared_1",
        retried: 0,
        trusted: true,
      });
    const replies = await Promise.all([deliver(a.deps), deliver(b.deps), deliver(a.deps), deliver(b.deps)]);
    expect(runs).toBe(1);
    expect(replies.filter((r) => r.status === 200 && !r.headers["X-Idempotent-Replay"])).toHaveLength(1);
    for (const r of replies) expect([200, 503]).toContain(r.status);
    const later = await deliver(b.deps);
    expect(later.headers["X-Idempotent-Replay"]).toBe("true");
    expect(runs).toBe(1);
    expect(await b.deps.ledger.get("msg_shared_1")).toMatchObject({ status: "succeeded", attempts: 1 });
  });

  test("a delivery that outlived its lease while the other instance finished the message does not undo that: 503 lease_lost, and the next delivery replays", async () => {
    // A stalls (a paused VM: its renewals never reach the store) past its 300 ms lease.
    const stalled = around(tcpStore({ url: REDIS_URL, prefix, dial: nodeDial }), (method, call) =>
      method === "expireIfEquals" ? Promise.resolve(true) : call(),
    );
    const slow = makeHarness("worker: { lease: 300ms }\n", { store: stalled });
    let runs = 0;
    const handler = (ms: number, fail: boolean): JobHandler => ({
      family: "notification",
      async handle(_body, ctx) {
        const run = ++runs;
        await Bun.sleep(ms);
        ctx.batch.defer({ op: "set", key: `sent:${run}`, value: "what this delivery did" });
        if (fail) throw transient("robot_busy", "the robot answered 503", 5);
        return { ok: run };
      },
    });
    const deliver = (deps: typeof a.deps, h: JobHandler, retried: number) =>
      runJob(deps, h, {
        family: "notification",
        body: new TextEncoder().encode("{}"),
        messageId: "msg_stale",
        retried,
        trusted: true,
      });
    const first = deliver(slow.deps, handler(600, true), 0);
    await Bun.sleep(400);
    const second = await deliver(b.deps, handler(0, false), 1);
    expect(second.status).toBe(200);
    const late = await first;
    expect(late.status).toBe(503);
    expect((late.body as { error: { code: string } }).error.code).toBe("lease_lost");
    expect(await b.deps.ledger.get("msg_stale")).toMatchObject({ status: "succeeded", result: { ok: 2 } });
    // What the stalled delivery did is still recorded.
    expect(await b.deps.store.get("sent:1")).toBe("what this delivery did");
    const next = await deliver(b.deps, handler(0, false), 2);
    expect(next.headers["X-Idempotent-Replay"]).toBe("true");
    expect(runs).toBe(2);
    await stalled.close();
  });

  test("a stalled delivery whose renewal takes its lapsed lease back just as it finishes does not write over the other's outcome: 503 lease_lost", async () => {
    let phase: "stalled" | "renewing" = "stalled";
    let renewalTook = () => {};
    const tookBack = new Promise<void>((r) => {
      renewalTook = r;
    });
    let finishWrote = () => {};
    const wrote = new Promise<void>((r) => {
      finishWrote = r;
    });
    const lease = "lease:msg_race";
    const store = around(tcpStore({ url: REDIS_URL, prefix, dial: nodeDial }), (method, call, args) => {
      // Stalled (a paused VM): its renewals never reach the store, and its lease lapses.
      if (method === "expireIfEquals") return phase === "stalled" ? Promise.resolve(true) : call();
      if (phase !== "renewing") return call();
      if (method === "acquire" && args[0] === lease)
        return Promise.resolve(call()).then((r) => {
          renewalTook();
          return r;
        });
      // The renewal lets the lease go again only after the finish wrote (or 300 ms).
      if (method === "delIfEquals" && args[0] === lease)
        return Promise.race([wrote, Bun.sleep(300)]).then(call);
      if (method === "writeMany")
        return Promise.resolve(call()).then((r) => {
          finishWrote();
          return r;
        });
      return call();
    });
    const slow = makeHarness("worker: { lease: 300ms }\n", { store });
    const deliver = (deps: typeof a.deps, handle: JobHandler["handle"], retried: number) =>
      runJob(
        deps,
        { family: "notification", handle },
        {
          family: "notification",
          body: new TextEncoder().encode("{}"),
          messageId: "msg_race",
          retried,
          trusted: true,
        },
      );
    const first = deliver(
      slow.deps,
      async () => {
        await Bun.sleep(450);
        // Its store answers again: the next renewal finds the lease gone and takes it back.
        phase = "renewing";
        await tookBack;
        return { ok: 1 };
      },
      0,
    );
    await Bun.sleep(350);
    expect((await deliver(b.deps, async () => ({ ok: 2 }), 1)).status).toBe(200);
    const late = await first;
    expect([late.status, (late.body as { error?: { code: string } }).error?.code]).toEqual([
      503,
      "lease_lost",
    ]);
    expect(await b.deps.ledger.get("msg_race")).toMatchObject({ status: "succeeded", result: { ok: 2 } });
    await store.close();
  });

  test("steps recorded by one instance are seen by the other", async () => {
    await a.deps.ledger.putStep("msg_steps", "ops-dingtalk", {
      status: "succeeded",
      at: new Date().toISOString(),
      attempts: 1,
    });
    expect(await b.deps.ledger.getStep("msg_steps", "ops-dingtalk")).toMatchObject({ status: "succeeded" });
  });
});
