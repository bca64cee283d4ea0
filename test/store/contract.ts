/**
 * The Store contract: one suite every implementation must pass (memory, Redis over TCP, Upstash
 * REST). `make()` gives a Store on the backend under test; it is called once for the suite and
 * once more for the cross-instance atomicity tests (two instances, one backend).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { onceWith, type Store, type Write } from "../../src/store/store.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function storeContract(name: string, make: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let s: Store;
    const ns = `c${Math.random().toString(36).slice(2, 10)}`;
    const key = (k: string) => `${ns}:${k}`;

    beforeAll(async () => {
      s = await make();
    });
    afterAll(async () => {
      await s?.close();
    });

    test("JSON values round-trip; missing keys are null", async () => {
      const values: Record<string, unknown> = {
        obj: { a: 1, b: [true, null, "x"], c: { d: "é" } },
        arr: [1, "2", { three: 3 }],
        str: "hello",
        numstr: "12",
        floatstr: "1.50",
        expstr: "1e3",
        boolstr: "true",
        nullstr: "null",
        quoted: '"already quoted"',
        jsonstr: '{"a":1}',
        empty: "",
        spaced: " 12 ",
        unicode: "héllo ✓ 🚀 中文 \u0000 \n\t",
        OK: "OK",
        int: 12,
        neg: -1.5,
        zero: 0,
        big: 1e21,
        tiny: 5e-7,
        t: true,
        f: false,
      };
      for (const [k, v] of Object.entries(values)) expect(await s.set(key(`rt:${k}`), v)).toBe(true);
      for (const [k, v] of Object.entries(values)) expect(await s.get(key(`rt:${k}`))).toEqual(v);
      expect(await s.get(key("rt:missing"))).toBeNull();
      const numstr = await s.get(key("rt:numstr"));
      expect(typeof numstr).toBe("string");
    });

    test("mget returns values in order, null for missing", async () => {
      await s.set(key("m:a"), { a: 1 });
      await s.set(key("m:b"), "12");
      await s.set(key("m:c"), 3);
      expect(await s.mget([key("m:a"), key("m:missing"), key("m:b"), key("m:c")])).toEqual([
        { a: 1 },
        null,
        "12",
        3,
      ]);
      expect(await s.mget([])).toEqual([]);
    });

    test("set overwrites; nx only sets a missing key", async () => {
      const k = key("nx");
      expect(await s.set(k, "first", { nx: true })).toBe(true);
      expect(await s.set(k, "second", { nx: true })).toBe(false);
      expect(await s.get(k)).toBe("first");
      expect(await s.set(k, "third")).toBe(true);
      expect(await s.get(k)).toBe("third");
      await s.del(k);
      expect(await s.get(k)).toBeNull();
      expect(await s.set(k, "fourth", { nx: true })).toBe(true);
    });

    test("ttl expires keys; nx succeeds again after expiry", async () => {
      const k = key("ttl");
      expect(await s.set(k, "v", { nx: true, ttlMs: 150 })).toBe(true);
      expect(await s.get(k)).toBe("v");
      const left = await s.pttl(k);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(150);
      await sleep(300);
      expect(await s.get(k)).toBeNull();
      expect(await s.pttl(k)).toBe(-2);
      expect(await s.set(k, "w", { nx: true, ttlMs: 150 })).toBe(true);
    });

    test("pttl: -2 missing, -1 without ttl, remaining ms with ttl", async () => {
      expect(await s.pttl(key("pttl:missing"))).toBe(-2);
      await s.set(key("pttl:forever"), 1);
      expect(await s.pttl(key("pttl:forever"))).toBe(-1);
      await s.set(key("pttl:soon"), 1, { ttlMs: 10_000 });
      const left = await s.pttl(key("pttl:soon"));
      expect(left).toBeGreaterThan(9_000);
      expect(left).toBeLessThanOrEqual(10_000);
    });

    test("delIfEquals deletes only with the right value", async () => {
      const k = key("cad");
      await s.set(k, { owner: "a", n: 1 });
      expect(await s.delIfEquals(k, { owner: "b", n: 1 })).toBe(false);
      expect(await s.get(k)).toEqual({ owner: "a", n: 1 });
      expect(await s.delIfEquals(k, { owner: "a", n: 1 })).toBe(true);
      expect(await s.get(k)).toBeNull();
      expect(await s.delIfEquals(k, { owner: "a", n: 1 })).toBe(false);
      await s.set(k, "12");
      expect(await s.delIfEquals(k, 12)).toBe(false);
      expect(await s.delIfEquals(k, "12")).toBe(true);
    });

    test("expireIfEquals sets a ttl only with the right value", async () => {
      const k = key("renew");
      await s.set(k, "lease-1");
      expect(await s.expireIfEquals(k, "lease-2", 5_000)).toBe(false);
      expect(await s.pttl(k)).toBe(-1);
      expect(await s.expireIfEquals(k, "lease-1", 5_000)).toBe(true);
      const left = await s.pttl(k);
      expect(left).toBeGreaterThan(4_000);
      expect(left).toBeLessThanOrEqual(5_000);
      expect(await s.expireIfEquals(key("renew:missing"), "lease-1", 5_000)).toBe(false);
      expect(await s.pttl(key("renew:missing"))).toBe(-2);
    });

    test("acquire: sets a missing key with a ttl and reads another key, in one step", async () => {
      const lease = key("acq:lease");
      const entry = key("acq:entry");
      const first = await s.acquire(lease, { token: "t1" }, 10_000, entry);
      expect(first).toMatchObject({ acquired: true, read: null });
      expect(await s.get(lease)).toEqual({ token: "t1" });
      const left = await s.pttl(lease);
      expect(left).toBeGreaterThan(9_000);
      await s.set(entry, { status: "succeeded", n: 1 });
      const second = await s.acquire(lease, { token: "t2" }, 10_000, entry);
      expect(second.acquired).toBe(false);
      expect(second.read).toEqual({ status: "succeeded", n: 1 });
      expect(second.ttlMs).toBeGreaterThan(9_000);
      expect(second.ttlMs).toBeLessThanOrEqual(10_000);
      expect(await s.get(lease)).toEqual({ token: "t1" });
      await s.set(key("acq:forever"), "x");
      expect((await s.acquire(key("acq:forever"), "y", 1_000, key("acq:none"))).ttlMs).toBe(-1);
    });

    test("acquire reads `more` keys in the same step, in order, null for missing ones", async () => {
      await s.set(key("more:a"), { a: 1 });
      await s.set(key("more:c"), "c");
      const got = await s.acquire(key("more:lease"), "t", 10_000, key("more:entry"), [
        key("more:a"),
        key("more:b"),
        key("more:c"),
      ]);
      expect(got).toMatchObject({ acquired: true, read: null, more: [{ a: 1 }, null, "c"] });
      expect((await s.acquire(key("more:lease2"), "t", 10_000, key("more:entry"))).more).toEqual([]);
    });

    test("writeMany makes sets, pushes, deletes and a guarded once in one step", async () => {
      await s.set(key("wm:gone"), "x");
      await s.set(key("wm:mine"), { token: "me" });
      await s.set(key("wm:theirs"), { token: "them" });
      await s.set(key("wm:taken"), "first");
      await s.writeMany([
        { op: "set", key: key("wm:a"), value: { n: 1 }, ttlMs: 10_000 },
        { op: "push", key: key("wm:list"), value: "p1", max: 2 },
        { op: "del", key: key("wm:gone") },
        { op: "del", key: key("wm:mine"), ifEquals: { token: "me" } },
        { op: "del", key: key("wm:theirs"), ifEquals: { token: "me" } },
        { op: "once", key: key("wm:taken"), value: "second", ttlMs: 10_000, guards: 1 },
        { op: "set", key: key("wm:skipped"), value: "no" },
        { op: "once", key: key("wm:fresh"), value: "yes", ttlMs: 10_000, guards: 1 },
        { op: "set", key: key("wm:made"), value: "yes" },
      ]);
      expect(await s.get(key("wm:a"))).toEqual({ n: 1 });
      expect(await s.pttl(key("wm:a"))).toBeGreaterThan(9_000);
      expect(await s.list(key("wm:list"), 5)).toEqual(["p1"]);
      expect(await s.get(key("wm:gone"))).toBeNull();
      expect(await s.get(key("wm:mine"))).toBeNull();
      expect(await s.get(key("wm:theirs"))).toEqual({ token: "them" });
      expect(await s.get(key("wm:taken"))).toBe("first");
      expect(await s.get(key("wm:skipped"))).toBeNull();
      expect(await s.get(key("wm:fresh"))).toBe("yes");
      expect(await s.get(key("wm:made"))).toBe("yes");
      await s.zadd(key("wm:z"), [{ member: "old", score: 1 }]);
      await s.writeMany([
        { op: "hset", key: key("wm:h"), field: "doc:1", value: { a: [1, "x"] } },
        { op: "hset", key: key("wm:h"), field: "doc:3", value: 3 },
        { op: "zadd", key: key("wm:z"), member: "new", score: 5 },
        { op: "zrem", key: key("wm:z"), member: "old" },
        { op: "hdel", key: key("wm:h"), field: "doc:3" },
      ]);
      expect(await s.hmget(key("wm:h"), ["doc:1", "doc:2", "doc:3"])).toEqual([{ a: [1, "x"] }, null, null]);
      expect(await s.zrange(key("wm:z"), { limit: 5 })).toEqual([{ member: "new", score: 5 }]);
      expect(await s.ztopMany([key("wm:z")], 5)).toEqual([{ size: 1, members: ["new"] }]);
    });

    test("acquire is atomic across instances: exactly one of 50 gets the key", async () => {
      const other = await make();
      try {
        const k = key("race:acquire");
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 ? other : s).acquire(k, `owner-${i}`, 10_000, key("x")),
          ),
        );
        const winners = results.flatMap((r, i) => (r.acquired ? [i] : []));
        expect(winners.length).toBe(1);
        expect(await other.get(k)).toBe(`owner-${winners[0]}`);
      } finally {
        await other.close();
      }
    });

    test("once (onceWith): sets a missing key and makes the writes after it; an existing key makes none", async () => {
      const once = key("once:dead");
      const entry = key("once:entry");
      const plain = key("once:plain");
      const recent = key("once:recent");
      await s.pushCapped(recent, "older", 2);
      await s.writeMany(
        onceWith(once, { n: 1 }, 10_000, [
          { op: "set", key: entry, value: { status: "failed" }, ttlMs: 10_000 },
          { op: "set", key: plain, value: "12" },
          { op: "push", key: recent, value: "first", max: 2, ttlMs: 10_000 },
        ]),
      );
      expect(await s.get(once)).toEqual({ n: 1 });
      expect(await s.pttl(once)).toBeGreaterThan(9_000);
      expect(await s.get(entry)).toEqual({ status: "failed" });
      expect(await s.pttl(entry)).toBeGreaterThan(9_000);
      expect(await s.get(plain)).toBe("12");
      expect(await s.pttl(plain)).toBe(-1);
      expect(await s.list(recent, 5)).toEqual(["first", "older"]);
      expect(await s.pttl(recent)).toBeGreaterThan(9_000);

      await s.writeMany(
        onceWith(once, { n: 2 }, 10_000, [
          { op: "set", key: entry, value: { status: "overwritten" } },
          { op: "push", key: recent, value: "second", max: 2 },
        ]),
      );
      expect(await s.get(once)).toEqual({ n: 1 });
      expect(await s.get(entry)).toEqual({ status: "failed" });
      expect(await s.list(recent, 5)).toEqual(["first", "older"]);

      // A push past max keeps the newest; max 0 empties the list, as pushCapped does.
      await s.writeMany(
        onceWith(key("once:2"), 1, 10_000, [{ op: "push", key: recent, value: "third", max: 2 }]),
      );
      expect(await s.list(recent, 5)).toEqual(["third", "first"]);
      await s.writeMany(
        onceWith(key("once:3"), 1, 10_000, [{ op: "push", key: recent, value: "x", max: 0 }]),
      );
      expect(await s.list(recent, 5)).toEqual([]);
      await s.writeMany(onceWith(key("once:4"), "alone", 10_000, []));
      expect(await s.get(key("once:4"))).toBe("alone");
    });

    test("check: the writes it guards are made only while the key holds the value; writeMany says so", async () => {
      const lock = key("check:lock");
      await s.set(lock, "mine", { ttlMs: 10_000 });
      const guarded = (value: string): Write[] => [
        { op: "check", key: lock, equals: "mine", guards: 2 },
        { op: "set", key: key("check:a"), value },
        { op: "del", key: lock, ifEquals: "mine" },
        { op: "set", key: key("check:after"), value },
      ];
      expect(await s.writeMany(guarded("first"))).toBe(true);
      expect(await s.get(key("check:a"))).toBe("first");
      expect(await s.get(lock)).toBeNull();

      // Expired and taken by someone else: nothing it guards is made, the writes after it are.
      await s.set(lock, "theirs", { ttlMs: 10_000 });
      expect(await s.writeMany(guarded("second"))).toBe(false);
      expect(await s.get(key("check:a"))).toBe("first");
      expect(await s.get(lock)).toBe("theirs");
      expect(await s.get(key("check:after"))).toBe("second");
      // Gone altogether: the same.
      await s.del(lock);
      expect(await s.writeMany(guarded("third"))).toBe(false);
      expect(await s.get(key("check:a"))).toBe("first");
      expect(await s.writeMany([{ op: "set", key: key("check:b"), value: 1 }])).toBe(true);
    });

    test("once is atomic across instances: one of 50 makes its writes, exactly once", async () => {
      const other = await make();
      try {
        const k = key("race:once");
        const recent = key("race:once:recent");
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 ? other : s).writeMany(
              onceWith(k, i, 10_000, [
                { op: "set", key: key("race:once:entry"), value: i, ttlMs: 10_000 },
                { op: "push", key: recent, value: i, max: 100 },
              ]),
            ),
          ),
        );
        const winner = await other.get<number>(k);
        expect(await other.get(key("race:once:entry"))).toBe(winner);
        expect(await other.list(recent, 100)).toEqual([winner]);
      } finally {
        await other.close();
      }
    });

    test("incr counts; the ttl is applied only when the counter is created", async () => {
      const k = key("incr");
      expect(await s.incr(k)).toBe(1);
      expect(await s.incr(k, 5)).toBe(6);
      expect(await s.pttl(k)).toBe(-1);
      expect(await s.get(k)).toBe(6);

      const t = key("incr:ttl");
      expect(await s.incr(t, 2, 200)).toBe(2);
      const first = await s.pttl(t);
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThanOrEqual(200);
      await sleep(50);
      expect(await s.incr(t, 3, 60_000)).toBe(5);
      expect(await s.pttl(t)).toBeLessThanOrEqual(first);
      await sleep(300);
      expect(await s.get(t)).toBeNull();
      expect(await s.incr(t, 1, 60_000)).toBe(1);
      expect(await s.pttl(t)).toBeGreaterThan(59_000);
    });

    test("hincr adds floats; hgetall gives numbers", async () => {
      const k = key("hash");
      expect(await s.hincr(k, "a", 1.5)).toBe(1.5);
      expect(await s.hincr(k, "a", 2.25)).toBe(3.75);
      expect(await s.hincr(k, "b", 1)).toBe(1);
      expect(await s.hincr(k, "c", -0.5)).toBe(-0.5);
      expect(await s.hincr(k, "d", 0.1)).toBeCloseTo(0.1, 10);
      expect(await s.hincr(k, "d", 0.2)).toBeCloseTo(0.3, 10);
      const all = await s.hgetall(k);
      expect(Object.keys(all).sort()).toEqual(["a", "b", "c", "d"]);
      expect(all.a).toBe(3.75);
      expect(all.b).toBe(1);
      expect(all.c).toBe(-0.5);
      expect(all.d).toBeCloseTo(0.3, 10);
      for (const v of Object.values(all)) expect(typeof v).toBe("number");
      expect(await s.hgetall(key("hash:missing"))).toEqual({});
    });

    test("pushCapped keeps the newest max entries, newest first; list reads them", async () => {
      const k = key("list");
      for (let i = 1; i <= 5; i++) await s.pushCapped(k, { i, s: String(i) }, 3);
      expect(await s.list(k, 10)).toEqual([
        { i: 5, s: "5" },
        { i: 4, s: "4" },
        { i: 3, s: "3" },
      ]);
      expect(await s.list(k, 2)).toEqual([
        { i: 5, s: "5" },
        { i: 4, s: "4" },
      ]);
      await s.pushCapped(key("list:str"), "12", 5);
      await s.pushCapped(key("list:str"), 12, 5);
      expect(await s.list(key("list:str"), 5)).toEqual([12, "12"]);
      expect(await s.list(key("list:missing"), 5)).toEqual([]);
    });

    test("pushCapped with a ttl expires the list", async () => {
      const k = key("list:ttl");
      await s.pushCapped(k, "a", 10, 150);
      await s.pushCapped(k, "b", 10, 150);
      expect(await s.list(k, 10)).toEqual(["b", "a"]);
      await sleep(300);
      expect(await s.list(k, 10)).toEqual([]);
    });

    test("del removes values, hashes and lists", async () => {
      await s.set(key("del:v"), 1);
      await s.hincr(key("del:h"), "f", 1);
      await s.pushCapped(key("del:l"), 1, 5);
      for (const k of ["del:v", "del:h", "del:l"]) await s.del(key(k));
      expect(await s.get(key("del:v"))).toBeNull();
      expect(await s.hgetall(key("del:h"))).toEqual({});
      expect(await s.list(key("del:l"), 5)).toEqual([]);
    });

    test("JSON hashes: hset/hmget round-trip values in field order; hdel counts what it removed", async () => {
      const k = key("jh");
      await s.hset(k, { a: { x: 1 }, b: "12", c: "1e3", d: 12, e: [1, "2"], f: "", g: null });
      expect(await s.hmget(k, ["b", "missing", "a", "c", "d", "e", "f", "g"])).toEqual([
        "12",
        null,
        { x: 1 },
        "1e3",
        12,
        [1, "2"],
        "",
        null,
      ]);
      expect(typeof (await s.hmget(k, ["b"]))[0]).toBe("string");
      await s.hset(k, { a: "replaced" });
      expect(await s.hmget(k, ["a"])).toEqual(["replaced"]);
      expect(await s.hdel(k, ["a", "b", "missing"])).toBe(2);
      expect(await s.hmget(k, ["a", "b", "c"])).toEqual([null, null, "1e3"]);
      expect(await s.hmget(key("jh:missing"), ["a", "b"])).toEqual([null, null]);
      expect(await s.hmget(k, [])).toEqual([]);
      await s.hset(k, {});
    });

    test("JSON hashes: a field named like an object's own members (constructor, toString) is missing, not found", async () => {
      // An alert id in a URL (/v1/alerts/:id/similar) is such a field name.
      const k = key("jh:proto");
      await s.hset(k, { a: 1 });
      for (const f of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
        expect(await s.hmget(k, [f])).toEqual([null]);
        expect(await s.hmget(key("jh:proto:missing"), [f, "a"])).toEqual([null, null]);
      }
      expect(await s.hmget(k, ["constructor", "a"])).toEqual([null, 1]);
    });

    test("sorted sets: order by score then member; re-adding moves a member; zrem and zcard", async () => {
      const k = key("z");
      await s.zadd(k, [
        { member: "c", score: 3 },
        { member: "a", score: 1 },
        { member: "12", score: 2 },
        { member: "1e3", score: 2 },
        { member: "b", score: 1 },
      ]);
      expect(await s.zcard(k)).toBe(5);
      expect(await s.zrange(k, { limit: 10 })).toEqual([
        { member: "a", score: 1 },
        { member: "b", score: 1 },
        { member: "12", score: 2 },
        { member: "1e3", score: 2 },
        { member: "c", score: 3 },
      ]);
      expect((await s.zrange(k, { limit: 2, rev: true })).map((e) => e.member)).toEqual(["c", "1e3"]);
      await s.zadd(k, [{ member: "a", score: 10.5 }]);
      expect(await s.zcard(k)).toBe(5);
      expect(await s.zrange(k, { limit: 1, rev: true })).toEqual([{ member: "a", score: 10.5 }]);
      expect(await s.zrem(k, ["a", "missing", "12"])).toBe(2);
      expect((await s.zrange(k, { limit: 10 })).map((e) => e.member)).toEqual(["b", "1e3", "c"]);
      expect(await s.zrange(k, { limit: 0 })).toEqual([]);
      expect(await s.zcard(key("z:missing"))).toBe(0);
      expect(await s.zrange(key("z:missing"), { limit: 5 })).toEqual([]);
    });

    test("zrange with maxScore returns only members at or below it, from either end", async () => {
      const k = key("zmax");
      await s.zadd(
        k,
        [1, 2, 3, 4, 5].map((i) => ({ member: `m${i}`, score: i * 1000 })),
      );
      expect((await s.zrange(k, { limit: 10, maxScore: 3000 })).map((e) => e.member)).toEqual([
        "m1",
        "m2",
        "m3",
      ]);
      expect((await s.zrange(k, { limit: 2, maxScore: 3500 })).map((e) => e.member)).toEqual(["m1", "m2"]);
      expect((await s.zrange(k, { limit: 2, rev: true, maxScore: 3500 })).map((e) => e.member)).toEqual([
        "m3",
        "m2",
      ]);
      expect(await s.zrange(k, { limit: 5, maxScore: 10 })).toEqual([]);
    });

    test("ztopMany: each key's size and highest-scored members in one call", async () => {
      const a = key("zt:a");
      const b = key("zt:b");
      await s.zadd(
        a,
        ["x", "y", "z"].map((m, i) => ({ member: m, score: i })),
      );
      await s.zadd(b, [{ member: "only", score: 7 }]);
      expect(await s.ztopMany([a, key("zt:missing"), b], 2)).toEqual([
        { size: 3, members: ["z", "y"] },
        { size: 0, members: [] },
        { size: 1, members: ["only"] },
      ]);
      expect(await s.ztopMany([a], 0)).toEqual([{ size: 3, members: [] }]);
      expect(await s.ztopMany([a, b, key("zt:missing")], [0, 1, 3])).toEqual([
        { size: 3, members: [] },
        { size: 1, members: ["only"] },
        { size: 0, members: [] },
      ]);
      expect(await s.ztopMany([], 5)).toEqual([]);
    });

    /** A member added to (or removed from) every key in one step, as the similar-alert index posts it. */
    const zaddEach = (st: Store, keys: string[], member: string, score: number) =>
      st.writeMany(keys.map((k): Write => ({ op: "zadd", key: k, member, score })));

    test("writes of one step touch every key (postings); del removes hashes and sorted sets", async () => {
      const keys = [key("ze:1"), key("ze:2"), key("ze:3")];
      await zaddEach(s, keys, "12", 5);
      await zaddEach(s, keys.slice(1), "doc-2", 6);
      expect(await s.ztopMany(keys, 5)).toEqual([
        { size: 1, members: ["12"] },
        { size: 2, members: ["doc-2", "12"] },
        { size: 2, members: ["doc-2", "12"] },
      ]);
      await s.writeMany(keys.map((k): Write => ({ op: "zrem", key: k, member: "12" })));
      expect((await s.ztopMany(keys, 5)).map((r) => r.size)).toEqual([0, 1, 1]);
      await s.hset(key("ze:h"), { f: 1 });
      await s.del(key("ze:h"));
      await s.del(keys[1]);
      expect(await s.hmget(key("ze:h"), ["f"])).toEqual([null]);
      expect(await s.zcard(keys[1])).toBe(0);
    });

    test("postings written in one step from two instances at once all land", async () => {
      const other = await make();
      try {
        const keys = [key("race:z1"), key("race:z2")];
        await Promise.all(
          Array.from({ length: 40 }, (_, i) => zaddEach(i % 2 ? other : s, keys, `doc-${i}`, i)),
        );
        const [a, b] = await s.ztopMany(keys, 100);
        expect(a.size).toBe(40);
        expect(b.members).toEqual(Array.from({ length: 40 }, (_, i) => `doc-${39 - i}`));
      } finally {
        await other.close();
      }
    });

    test("set nx is atomic across instances: exactly one of 50 wins", async () => {
      const other = await make();
      try {
        const k = key("race:nx");
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 ? other : s).set(k, `owner-${i}`, { nx: true, ttlMs: 10_000 }),
          ),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners.length).toBe(1);
        expect(await s.get(k)).toBe(`owner-${winners[0]}`);
        expect(await other.get(k)).toBe(`owner-${winners[0]}`);
      } finally {
        await other.close();
      }
    });

    test("incr is atomic across instances: 200 concurrent increments sum exactly", async () => {
      const other = await make();
      try {
        const k = key("race:incr");
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 ? other : s).incr(k, 1, 10_000)),
        );
        expect(new Set(results).size).toBe(200);
        expect(Math.max(...results)).toBe(200);
        expect(await s.get(k)).toBe(200);
        const left = await s.pttl(k);
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(10_000);
      } finally {
        await other.close();
      }
    });

    test("ping answers", async () => {
      await s.ping();
    });
  });
}
