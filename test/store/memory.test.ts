import { describe, expect, test } from "bun:test";
import { MemoryStore } from "../../src/store/memory.ts";

describe("the memory store stays bounded", () => {
  test("past max_keys the oldest-created values are dropped", async () => {
    const s = new MemoryStore(Date.now, 100);
    for (let i = 0; i < 150; i++) await s.set(`k${i}`, i);
    expect(await s.get("k0")).toBeNull();
    expect(await s.get("k49")).toBeNull();
    expect(await s.get("k50")).toBe(50);
    expect(await s.get("k149")).toBe(149);
  });
});
