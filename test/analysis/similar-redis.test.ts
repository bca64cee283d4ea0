/**
 * The similarity index on a real Redis (REDIS_URL, set by scripts/test.sh; fails loudly without
 * it): the same answers as on the memory store, and a search costs a fixed number of store round
 * trips however many alerts are indexed — it reads an index, it does not scan.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { alertTokens } from "../../src/analysis/similar/features.ts";
import { SimilarityIndex } from "../../src/analysis/similar/index.ts";
import { docOf } from "../../src/analysis/similarity.ts";
import { nodeDial } from "../../src/entry/node-net.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { tcpStore } from "../../src/store/redis.ts";
import type { Store } from "../../src/store/store.ts";
import { incidents, noise } from "../support/alert-corpus.ts";
import { deleteKeys } from "../support/redis-server.ts";
import { around } from "../support/store-spy.ts";

const REDIS_URL = process.env.REDIS_URL;
const PREFIX = `test:sim${Date.now().toString(36)}:`;

/** The store, with every call counted: each Store call is one round trip on Redis. */
function counted(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const proxy = around(store, (method, call) => {
    calls.push(method);
    return call();
  });
  return { store: proxy, calls };
}

afterAll(async () => {
  if (!REDIS_URL) return;
  await deleteKeys(REDIS_URL, `${PREFIX}*`);
});

describe("similarity index on Redis", () => {
  test("a search is two store round trips at 300 and at 1300 alerts, three with a vector", async () => {
    if (!REDIS_URL)
      throw new Error("REDIS_URL is not set: run scripts/test.sh (it starts a throw-away redis-server)");
    const redis = tcpStore({ url: REDIS_URL, prefix: PREFIX, dial: nodeDial });
    const memory = new MemoryStore();
    const { store, calls } = counted(redis);
    const opts = { maxAlerts: 100_000, retentionMs: 86_400_000, now: Date.now };
    const onRedis = new SimilarityIndex(store, opts);
    const onMemory = new SimilarityIndex(memory, opts);
    const labelled = incidents();
    const at = Date.now();
    const add = async (items: ReturnType<typeof noise>) => {
      for (const [i, { alert }] of items.entries()) {
        const doc = docOf(alert, alert.annotations.summary ?? "", "", at + i);
        const vector = alert.id.startsWith("cpu-") ? [1, 0.5, Number(alert.id.slice(4))] : undefined;
        await Promise.all([onRedis.add(doc, vector), onMemory.add(doc, vector)]);
      }
    };
    const q = labelled[0].alert;
    const query = { id: q.id, labels: q.labels, tokens: alertTokens(q) };
    try {
      await add([...labelled, ...noise(270, 5)]);
      calls.length = 0;
      const small = await onRedis.search(query, { k: 5, minScore: 0.3 });
      expect(calls).toEqual(["ztopMany", "hmget"]);
      expect(small).toEqual(await onMemory.search(query, { k: 5, minScore: 0.3 }));
      expect(small.map((m) => m.alert_id)).toEqual(["cpu-6", "cpu-5", "cpu-4", "cpu-3", "cpu-2"]);

      await add(noise(1000, 6));
      calls.length = 0;
      const large = await onRedis.search(query, { k: 5, minScore: 0.3 });
      expect(calls).toEqual(["ztopMany", "hmget"]);
      expect(large.map((m) => m.alert_id).sort()).toEqual(["cpu-2", "cpu-3", "cpu-4", "cpu-5", "cpu-6"]);

      calls.length = 0;
      await onRedis.search({ ...query, vector: [1, 0.5, 1] }, { k: 5, minScore: 0.3 });
      expect(calls).toEqual(["ztopMany", "hmget", "hmget"]);
    } finally {
      await redis.close();
    }
  }, 60_000);
});
