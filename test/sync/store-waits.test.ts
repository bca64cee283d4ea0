/**
 * How many times a config-sync job waits on the store: at most four, as every job (docs/architecture.md,
 * "Store round trips") — the claim; the lock, taken with the rule set and the targets' states
 * read in the same round trip; the set and the states written with the lock's release; the answer.
 * The store answers every call after 20 ms and counts the waits (test/support/store-spy.ts).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MemoryStore } from "../../src/store/memory.ts";
import { upstashStore } from "../../src/store/redis.ts";
import type { Store } from "../../src/store/store.ts";
import { tempDir } from "../support/peers.ts";
import { startRedis } from "../support/redis-server.ts";
import { around, waitCounting } from "../support/store-spy.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { rule, sampleRules } from "../support/sync-rules.ts";
import { startUpstashShim } from "../support/upstash-shim.ts";

type Body = { targets: { target: string; changed: boolean; version: number }[] };

function setup(inner: Store = new MemoryStore()) {
  const dir = tempDir();
  const counting = waitCounting(inner);
  const h = makeSyncHarness(
    `
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: "${join(dir, "prom.yml")}" } }
    vm: { kind: vmalert, delivery: { type: file, path: "${join(dir, "vm.yml")}" } }
`,
    { store: counting.store },
  );
  const waitsOf = async (job: unknown) => {
    const before = counting.waits();
    const res = await h.sync(job);
    return { res, waits: counting.waits() - before };
  };
  return { h, dir, waitsOf };
}

describe("store waits of a config-sync job", () => {
  test("a sync that changes two file targets waits four times, and the next one reads what it wrote", async () => {
    const { h, dir, waitsOf } = setup();
    const first = await waitsOf({ operation: "create", rules: sampleRules() });
    expect(first.res.status).toBe(200);
    expect(first.waits).toBe(4);
    expect(((await first.res.json()) as Body).targets.map((t) => [t.target, t.version])).toEqual([
      ["prom", 1],
      ["vm", 1],
    ]);
    expect(readFileSync(join(dir, "prom.yml"), "utf8")).toContain('alert: "HighCPU"');

    const second = await waitsOf({ operation: "update", rules: [rule({ expr: "up == 2" })] });
    expect(second.res.status).toBe(200);
    expect(second.waits).toBe(4);
    expect(((await second.res.json()) as Body).targets.map((t) => t.version)).toEqual([2, 2]);
    const status = await h.json<{ rules: number; targets: { version: number; verified: boolean }[] }>(
      "/v1/sync/status",
    );
    expect(status.targets.map((t) => t.version)).toEqual([2, 2]);
    // The sample's rules and r-1, which the update added: the set was read under the lock.
    expect(status.rules).toBe(sampleRules().length + 1);
  });

  test("a dry run waits three times and writes nothing", async () => {
    const { h, waitsOf } = setup();
    const dry = await waitsOf({ operation: "create", rules: sampleRules(), dry_run: true });
    expect(dry.res.status).toBe(200);
    expect(dry.waits).toBe(3);
    const status = await h.json<{ rules: number; targets: { version: number }[] }>("/v1/sync/status");
    expect(status.rules).toBe(0);
    expect(status.targets.map((t) => t.version)).toEqual([0, 0]);
  });

  test("the store refusing the sync's final write: the job fails, and the lock is let go for the next sync", async () => {
    let refuse = 1;
    const flaky = around(new MemoryStore(), (method, call) =>
      method === "writeMany" && refuse-- > 0 ? Promise.reject(new Error("store refused the write")) : call(),
    );
    const { waitsOf } = setup(flaky);
    const failed = await waitsOf({ operation: "create", rules: sampleRules() });
    expect(failed.res.status).toBeGreaterThanOrEqual(500);
    // Nothing was recorded, so the retry delivers again and the version goes up once.
    const next = await waitsOf({ operation: "create", rules: sampleRules() });
    expect(next.res.status).toBe(200);
    expect(((await next.res.json()) as Body).targets.map((t) => t.version)).toEqual([1, 1]);
  });
});

describe("two workers syncing through Upstash REST", () => {
  test("a sync whose lock request is slow on the network still reads what the sync before it wrote", async () => {
    const redis = await startRedis();
    // The first request that names the lock is held back 400 ms: meanwhile another sync runs whole.
    let held = false;
    const shim = await startUpstashShim({
      redisUrl: redis.url,
      token: "tok",
      delay(body) {
        if (held || !body.includes("sync:lock")) return 0;
        held = true;
        return 400;
      },
    });
    try {
      const dir = tempDir();
      const yaml = `
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: "${join(dir, "prom.yml")}" } }
`;
      const store = () => upstashStore({ url: shim.url, token: "tok", prefix: "two:" });
      const a = makeSyncHarness(yaml, { store: store() });
      const b = makeSyncHarness(yaml, { store: store() });
      const slow = b.sync({ operation: "create", rules: [rule({ id: "from-b", name: "FromB" })] });
      await new Promise((r) => setTimeout(r, 50));
      const fast = await a.sync({ operation: "create", rules: [rule({ id: "from-a", name: "FromA" })] });
      expect(fast.status).toBe(200);
      expect((await slow).status).toBe(200);
      // B took the lock after A let it go, and read A's rule with it: neither rule is lost.
      const status = await a.json<{ rules: number; targets: { version: number }[] }>("/v1/sync/status");
      expect(status.rules).toBe(2);
      expect(status.targets.map((t) => t.version)).toEqual([2]);
      const file = readFileSync(join(dir, "prom.yml"), "utf8");
      expect(file).toContain("FromA");
      expect(file).toContain("FromB");
    } finally {
      await shim.stop();
      await redis.stop();
    }
  });
});
