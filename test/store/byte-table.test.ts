import { describe, expect, test } from "bun:test";
import { ByteTable } from "../../src/store/byte-table.ts";

const get = (t: ByteTable, key: string) => {
  const slot = t.find(key);
  return slot < 0 ? undefined : t.value(slot);
};

describe("ByteTable: the memory store's keys and values in typed arrays", () => {
  test("values round-trip as given: ASCII, UTF-8, a leading BOM, empty, up to and past the largest block", () => {
    const t = new ByteTable();
    const values = {
      ascii: '{"status":"succeeded","n":1}',
      utf8: '{"summary":"磁盘使用率 95% — é ✓ 🚨"}',
      empty: "",
      block: "x".repeat(2048 - 2 * "block".length),
      past: "y".repeat(5000),
      wide: "磁".repeat(1000),
      bom: "\uFEFF{}",
    };
    for (const [k, v] of Object.entries(values)) t.put(k, v, null);
    for (const [k, v] of Object.entries(values)) expect(get(t, k)).toBe(v);
    expect(t.size).toBe(7);
    expect(get(t, "missing")).toBeUndefined();
  });

  test("keys are compared whole, including keys that are not ASCII or share a hash", () => {
    const t = new ByteTable();
    // These two keys have the same 32-bit FNV-1a hash: they share one index entry, chained.
    const [a, b] = ["job:msg_1079599", "job:msg_1262382"];
    t.put(a, "A", null);
    t.put(b, "B", null);
    t.put("dead:告警-1", "C", 5);
    t.put("job:msg_107959", "prefix", null);
    expect([get(t, a), get(t, b), get(t, "dead:告警-1"), get(t, "job:msg_107959")]).toEqual([
      "A",
      "B",
      "C",
      "prefix",
    ]);
    expect(t.delete(a)).toBe(true);
    expect(get(t, a)).toBeUndefined();
    expect(get(t, b)).toBe("B");
    t.put(a, "A again", null);
    expect(t.delete(b)).toBe(true);
    expect(t.delete(b)).toBe(false);
    expect(get(t, a)).toBe("A again");
    expect(t.size).toBe(3);
  });

  test("replacing a value keeps the key's place; the oldest-created keys are evicted first", () => {
    const t = new ByteTable();
    for (let i = 0; i < 5; i++) t.put(`k${i}`, `v${i}`, null);
    t.put("k0", "a much longer value than before, in another block size", null);
    t.evictOldest(2);
    expect([...t.keys()]).toEqual(["k2", "k3", "k4"]);
    expect(t.size).toBe(3);
  });

  test("expiry: null for none; sweep drops what has expired, chained keys included", () => {
    const t = new ByteTable();
    t.put("forever", "1", null);
    t.put("job:msg_1079599", "2", 100);
    t.put("job:msg_1262382", "3", 300);
    t.put("soon", "4", 100);
    expect(t.expiresAt(t.find("forever"))).toBeNull();
    expect(t.expiresAt(t.find("soon"))).toBe(100);
    t.setExpiry(t.find("forever"), 1_000);
    t.sweep(200);
    expect([...t.keys()].sort()).toEqual(["forever", "job:msg_1262382"]);
    t.sweep(1_000);
    expect([...t.keys()]).toEqual([]);
    expect(t.size).toBe(0);
  });

  test("blocks and slots are reused: 100,000 writes over 1,000 live keys stay in the same arenas", () => {
    const t = new ByteTable();
    const value = (i: number) => JSON.stringify({ message_id: `msg_${i}`, status: "succeeded", n: i });
    for (let i = 0; i < 100_000; i++) {
      if (t.size >= 1_000) t.evictOldest(100);
      t.put(`job:msg_${i}`, value(i), null);
    }
    expect(t.size).toBeLessThanOrEqual(1_000);
    expect(get(t, "job:msg_99999")).toBe(value(99_999));
    expect(get(t, "job:msg_0")).toBeUndefined();
    const kept = [...t.keys()];
    expect(kept.length).toBe(t.size);
    for (const k of kept.slice(0, 50)) expect(JSON.parse(get(t, k) as string).message_id).toBe(k.slice(4));
    // Arenas hold at most what 1,000 live values need (and their doubling), not 100,000.
    expect(t.arenaBytes).toBeLessThan(1_000 * 128 * 2 + 64 * 1024);
  });

  test("past maxArenaBytes, values are kept as strings instead: nothing is refused or lost", () => {
    const t = new ByteTable(64 * 1024);
    for (let i = 0; i < 500; i++) t.put(`k${i}`, `${i}:${"z".repeat(400)}`, null);
    expect(t.arenaBytes).toBeLessThanOrEqual(64 * 1024 * 2);
    for (let i = 0; i < 500; i += 37) expect(get(t, `k${i}`)).toBe(`${i}:${"z".repeat(400)}`);
    expect(t.size).toBe(500);
  });
});
