/**
 * The store going away: Redis is killed and started again around and in the middle of jobs.
 * No job is answered 2xx unless its outcome is recorded; nothing completed runs twice; the
 * health endpoints say what is wrong while it is down; everything recovers by itself.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { z } from "zod";
import { nodeDial } from "../../src/entry/node-net.ts";
import { type JobHandler, parseJob } from "../../src/jobs/handler.ts";
import { runJob } from "../../src/jobs/runner.ts";
import { Ledger } from "../../src/store/ledger.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { tcpStore } from "../../src/store/redis.ts";
import { makeHarness } from "../support/harness.ts";
import { startRedis } from "../support/redis-server.ts";

const redis = await startRedis();
afterAll(() => redis.stop());

const effects = new Map<number, number>();
let gate: Promise<void> | undefined;
const handler: JobHandler = {
  family: "notification",
  async handle(body) {
    const { n } = parseJob(z.object({ n: z.number() }), body);
    if (gate) await gate;
    effects.set(n, (effects.get(n) ?? 0) + 1);
    return { n };
  },
};
const job = (n: number, id = `msg_fault_${n}`, retried = 0) => ({
  family: "notification" as const,
  body: new TextEncoder().encode(JSON.stringify({ n })),
  messageId: id,
  retried,
  trusted: true,
});

describe("Redis stopped and started", () => {
  const h = makeHarness("worker: { lease: 1s }\n", {
    store: tcpStore({ url: redis.url, prefix: "fault:", dial: nodeDial }),
  });

  test("while Redis is down: 503 store_unavailable (fast), /health down; afterwards a replay, not a second run", async () => {
    expect((await runJob(h.deps, handler, job(1))).status).toBe(200);
    await redis.stop();
    const t = Date.now();
    const down = await runJob(h.deps, handler, job(2));
    expect(down.status).toBe(503);
    expect((down.body as { error: { code: string } }).error.code).toBe("store_unavailable");
    expect(Date.now() - t).toBeLessThan(5000);
    expect((await h.request("/health")).status).toBe(503);
    expect((await h.request("/health/ready")).status).toBe(503);
    expect((await h.request("/dashboard")).status).toBe(200);
    expect(effects.get(2)).toBeUndefined();

    await redis.start();
    const replay = await runJob(h.deps, handler, job(1, "msg_fault_1", 1));
    expect(replay).toMatchObject({ status: 200, headers: { "X-Idempotent-Replay": "true" } });
    expect((await runJob(h.deps, handler, job(2, "msg_fault_2", 1))).status).toBe(200);
    expect(effects.get(1)).toBe(1);
    expect(effects.get(2)).toBe(1);
    expect((await h.request("/health")).status).toBe(200);
  }, 30_000);

  /** Job `n` started and held inside its handler; `release` lets it finish (its answer). */
  const held = async (n: number) => {
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const running = runJob(h.deps, handler, job(n));
    await Bun.sleep(50);
    return {
      release: () => {
        open();
        gate = undefined;
        return running;
      },
    };
  };

  test("Redis dies in the middle of a job: the answer is 503, never 2xx; the retry finishes it", async () => {
    const run = await held(3);
    await redis.stop();
    const reply = await run.release();
    expect(reply.status).toBe(503);
    await redis.start();
    // The lease it held survives the restart (append-only file) and expires after worker.lease.
    let retry = await runJob(h.deps, handler, job(3, "msg_fault_3", 1));
    for (let i = 0; i < 30 && retry.status === 503; i++) {
      await Bun.sleep(200);
      retry = await runJob(h.deps, handler, job(3, "msg_fault_3", 2));
    }
    expect(retry.status).toBe(200);
    expect((await h.deps.ledger.get("msg_fault_3"))?.status).toBe("succeeded");
    // The effect ran before the store went away and once more on the retry: at-least-once for
    // effects without their own step record, which is why channels record each send as a step.
    expect(effects.get(3)).toBe(2);
  }, 30_000);

  /** Redis as after a restart without its data (no append-only file, or an older snapshot). */
  const emptied = async () => {
    const p = Bun.spawn(["redis-cli", "-u", redis.url, "FLUSHALL"], { stdout: "ignore", stderr: "ignore" });
    expect(await p.exited).toBe(0);
  };

  test("Redis loses its data under a running job: the job records its outcome and answers 200; the redelivery is a replay", async () => {
    const run = await held(4);
    await emptied();
    const reply = await run.release();
    // It was a 503 lease_lost: QStash redelivered and the job ran again what had succeeded.
    expect(reply.status).toBe(200);
    const again = await runJob(h.deps, handler, job(4, "msg_fault_4", 1));
    expect(again).toMatchObject({ status: 200, headers: { "X-Idempotent-Replay": "true" } });
    expect(effects.get(4)).toBe(1);
  });

  test("the lease lost with the data is taken back by the renewal: a redelivery meanwhile is told in_progress, not run twice", async () => {
    const run = await held(5);
    await emptied();
    await Bun.sleep(500); // a renewal (every third of the 1 s lease) finds it gone
    const meanwhile = await runJob(h.deps, handler, job(5, "msg_fault_5", 1));
    expect((meanwhile.body as { error: { code: string } }).error.code).toBe("in_progress");
    expect((await run.release()).status).toBe(200);
    expect(effects.get(5)).toBe(1);
  });

  test("a Redis that lost its data since the worker started is named among the store's warnings (/health/ready)", async () => {
    // Two workers on one Redis: each says it, whichever looks first.
    const [one, two] = [1, 2].map(() => tcpStore({ url: redis.url, prefix: "marker:", dial: nodeDial }));
    try {
      for (const store of [one, two]) expect(await store.hazards?.()).toEqual([]);
      expect(await one.hazards?.()).toEqual([]);
      await emptied();
      const said = (await one.hazards?.()) ?? [];
      expect(said).toEqual([expect.stringContaining("Redis lost its data at")]);
      expect(said[0]).toContain("operation full");
      expect(await two.hazards?.()).toEqual([expect.stringContaining("Redis lost its data at")]);
      // Still said on later asks: what was lost stays lost.
      expect(await one.hazards?.()).toEqual(said);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  test("a lost lease is taken back in one step: a delivery that claims and finishes meanwhile keeps its record, or is told in_progress", async () => {
    for (const [name, base] of [
      ["memory", new MemoryStore()],
      ["redis", tcpStore({ url: redis.url, prefix: "race:", dial: nodeDial })],
    ] as const) {
      for (const how of ["renew", "finish"] as const) {
        const id = `m-race-${how}`;
        const ledger = new Ledger(base, { leaseMs: 60_000, retentionMs: 60_000 });
        // Another worker's delivery, run the moment the first one has read anything of the lost lease.
        let other: (() => Promise<void>) | undefined;
        const store = new Proxy(base, {
          get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver);
            if (prop !== "mget" && prop !== "acquire") return typeof v === "function" ? v.bind(target) : v;
            return async (...args: unknown[]) => {
              const read = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
              const run = other;
              other = undefined;
              await run?.();
              return read;
            };
          },
        });
        const racing = new Ledger(store, { leaseMs: 60_000, retentionMs: 60_000 });
        const a = await ledger.claim(id, "notification", { retried: 0 });
        if (a.kind !== "claimed") throw new Error(`${name}: ${a.kind}`);
        await base.del(ledger.leaseKey(id)); // the store lost it
        let bRan = false;
        other = async () => {
          const b = await ledger.claim(id, "notification", { retried: 1 });
          if (b.kind !== "claimed") return;
          bRan = true;
          await ledger.finish(b.entry, b.lease, {
            status: "succeeded",
            httpStatus: 200,
            result: { by: "b" },
          });
        };
        const finishA = () =>
          racing.finish(a.entry, a.lease, { status: "succeeded", httpStatus: 200, result: { by: "a" } }).then(
            () => true,
            () => false,
          );
        const took = how === "renew" ? await racing.renew(id, a.lease) : await finishA();
        // Either the other delivery ran and the first must not take the message back, or the
        // first took it back and the other was told in_progress: never both.
        expect(took, `${name} ${how}`).toBe(!bRan);
        if (took && how === "renew") expect(await finishA(), name).toBe(true);
        expect((await ledger.get(id))?.result, `${name} ${how}`).toEqual({ by: bRan ? "b" : "a" });
        // Nobody holds it: a redelivery is a replay, not told in_progress.
        expect((await ledger.claim(id, "notification", { retried: 2 })).kind, `${name} ${how}`).toBe(
          "replay",
        );
      }
    }
  });

  test("a paused delivery whose lease ran out while another finished the message cannot take it back: the finished record stands", async () => {
    for (const [name, store] of [
      ["memory", new MemoryStore()],
      ["redis", tcpStore({ url: redis.url, prefix: "pause:", dial: nodeDial })],
    ] as const) {
      const ledger = new Ledger(store, { leaseMs: 200, retentionMs: 60_000 });
      const a = await ledger.claim("m-pause", "notification", { retried: 0 });
      if (a.kind !== "claimed") throw new Error(`${name}: ${a.kind}`);
      await Bun.sleep(300);
      const b = await ledger.claim("m-pause", "notification", { retried: 1 });
      if (b.kind !== "claimed") throw new Error(`${name}: ${b.kind}`);
      await ledger.finish(b.entry, b.lease, { status: "succeeded", httpStatus: 200, result: { by: "b" } });
      expect(await ledger.renew("m-pause", a.lease), name).toBe(false);
      const late = await ledger
        .release(a.entry, a.lease, { code: "late", message: "paused", retryable: true })
        .then(
          () => "recorded",
          (e: { code?: string }) => e.code,
        );
      expect(late, name).toBe("lease_lost");
      expect((await ledger.get("m-pause"))?.status, name).toBe("succeeded");
    }
  });
});
