import { describe, expect, test } from "bun:test";
import { MemoryLimit } from "../../src/telemetry/memory-limit.ts";

const MB = 1024 ** 2;

function rig(rssMb: number, gcMs = 2) {
  let clock = 0;
  const state = { rss: rssMb * MB, gcs: 0 };
  const limit = new MemoryLimit(
    128 * MB,
    {
      rss: () => state.rss,
      collect: () => {
        state.gcs++;
        clock += gcMs;
      },
    },
    () => clock,
  );
  return { limit, state, tick: (ms: number) => (clock += ms) };
}

describe("soft memory limit (worker.memory_limit)", () => {
  test("below the limit nothing is collected", () => {
    const r = rig(90);
    for (let i = 0; i < 20; i++) {
      expect(r.limit.check()).toBe(false);
      r.tick(100);
    }
    expect(r.state.gcs).toBe(0);
  });

  test("over the limit it collects, at most every 100 ms", () => {
    const r = rig(150);
    let n = 0;
    for (let i = 0; i < 20; i++) {
      if (r.limit.check()) n++;
      r.tick(50);
    }
    // 1 s of checks every 50 ms, one collection per 100 ms at most.
    expect(n).toBeGreaterThanOrEqual(9);
    expect(n).toBeLessThanOrEqual(10);
    expect(r.limit.collections).toBe(n);
    expect(r.limit.collectedMs).toBe(n * 2); // the time they took, for the stop line
  });

  test("live data above the limit is not collected in a loop: collections stay under a fifth of the time", () => {
    const r = rig(400, 120); // each full collection of a big heap takes 120 ms
    let busy = 0;
    for (let i = 0; i < 600; i++) {
      if (r.limit.check()) busy += 120;
      r.tick(100);
    }
    const elapsed = 600 * 100 + busy;
    expect(busy / elapsed).toBeLessThanOrEqual(0.2);
    expect(busy / elapsed).toBeGreaterThan(0.1);
    expect(r.state.gcs).toBeGreaterThan(0);
  });

  test("0 turns it off", () => {
    const l = new MemoryLimit(0, { rss: () => 10_000 * MB, collect: () => {} });
    expect(l.check()).toBe(false);
  });
});
