/**
 * The config-sync lock (docs/config-sync.md, "One sync at a time"): renewed while a sync runs, and
 * a sync that lost it anyway (a process paused past the TTL) writes none of its records over the
 * next holder's.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/store.ts";
import { takeLock } from "../../src/sync/state.ts";
import { tempDir } from "../support/peers.ts";
import { around, failingOnce } from "../support/store-spy.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { sampleRules } from "../support/sync-rules.ts";

const LOCK = "sync:lock";

/** A sync harness with one Prometheus rule file as its target, on `store`. */
const oneFileTarget = (store: Store) =>
  makeSyncHarness(
    `config_sync:\n  targets:\n    prom: { kind: prometheus, delivery: { type: file, path: "${join(tempDir(), "prom.yml")}" } }\n`,
    { store },
  );

describe("the config-sync lock", () => {
  test("a sync that lost its lock records nothing over the next holder's, answers 503 sync_lock_lost, and the retry delivers", async () => {
    const inner = new MemoryStore();
    let takeOver = true;
    // Just before the final write, the lock has expired and another sync has taken it.
    const store = around(inner, async (method, call) => {
      if (method === "writeMany" && takeOver) {
        takeOver = false;
        await inner.set(LOCK, "another-sync", { ttlMs: 60_000 });
      }
      return call();
    });
    const h = oneFileTarget(store);
    const lost = await h.sync({ operation: "create", rules: sampleRules() });
    expect(lost.status).toBe(503);
    expect(((await lost.json()) as { error: { code: string } }).error.code).toBe("sync_lock_lost");
    expect(await inner.get(LOCK)).toBe("another-sync");
    const status = await h.json<{ rules: number; targets: { version: number }[] }>("/v1/sync/status");
    expect(status.rules).toBe(0);
    expect(status.targets.map((t) => t.version)).toEqual([0]);

    // The other sync ends; the redelivered job plans again and records its delivery once.
    await inner.del(LOCK);
    const retry = await h.sync({ operation: "create", rules: sampleRules() });
    expect(retry.status).toBe(200);
    const after = await h.json<{ rules: number; targets: { version: number }[] }>("/v1/sync/status");
    expect(after.rules).toBe(sampleRules().length);
    expect(after.targets.map((t) => t.version)).toEqual([1]);
  });

  test("taking the lock with its answer lost: the job answers 503, and its retry is not refused by its own lock", async () => {
    const store = failingOnce("answer lost", (method, args) => method === "acquire" && args[0] === LOCK);
    const h = oneFileTarget(store);
    const first = await h.sync({ operation: "create", rules: sampleRules() });
    expect(first.status).toBe(503);
    expect(JSON.stringify(await first.json())).toContain("store_unavailable");
    const retry = await h.sync({ operation: "create", rules: sampleRules() });
    expect(retry.status).toBe(200);
  });

  test("a sync that runs longer than the lock's TTL keeps its lock, and lets it go at the end", async () => {
    const store = new MemoryStore();
    const held = await takeLock(store, ["prom"], 300);
    if (!held) throw new Error("the lock was not taken");
    await new Promise((r) => setTimeout(r, 800));
    expect(await store.pttl(LOCK)).toBeGreaterThan(0);
    expect(await takeLock(store, ["prom"], 300)).toBeNull();
    await held.saveAndRelease(undefined, []);
    expect(await store.get(LOCK)).toBeNull();
  });

  test("a sync killed mid-way (its lock left behind) holds other syncs back for at most a lease, not five minutes", async () => {
    const store = new MemoryStore();
    const h = makeSyncHarness(
      `config_sync:\n  targets:\n    prom: { kind: prometheus, delivery: { type: file, path: "${join(tempDir(), "prom.yml")}" } }\n`,
      { store, worker: "lease: 1s" },
    );
    // What a delivery left when its process died: its lock, never renewed again.
    await store.set(LOCK, crypto.randomUUID(), { ttlMs: 1000 });
    const code = async (r: Response) =>
      ((await r.json()) as { error?: { code: string } }).error?.code ?? r.status;
    expect(await code(await h.sync({ operation: "create", rules: sampleRules() }, "msg_other"))).toBe(
      "sync_in_progress",
    );
    await new Promise((r) => setTimeout(r, 1200));
    expect(await code(await h.sync({ operation: "create", rules: sampleRules() }, "msg_other"))).toBe(200);
  });

  test("a lock that lapsed with no one taking it (the event loop stalled past the TTL) is taken back: the sync's records are written", async () => {
    const store = new MemoryStore();
    const held = await takeLock(store, ["prom"], 300);
    if (!held) throw new Error("the lock was not taken");
    await store.del(LOCK); // as if it expired while the process stalled
    await new Promise((r) => setTimeout(r, 250)); // a renewal runs every 100 ms
    await held.saveAndRelease(undefined, []);
    expect(await store.get(LOCK)).toBeNull();
  });
});
