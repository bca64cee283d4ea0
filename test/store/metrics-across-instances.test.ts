/**
 * worker.metrics: store — two worker instances on one Redis show one truth: each adds its
 * figures to the store, and /stats and /metrics on either show the sum.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app.ts";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { loadConfig } from "../../src/config/load.ts";
import { nodeDial } from "../../src/entry/node-net.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { tcpStore } from "../../src/store/redis.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { StoreMetrics } from "../../src/telemetry/store-metrics.ts";
import { buildDeps } from "../../src/wire.ts";
import { failureCallback } from "../support/harness.ts";

const REDIS_URL = process.env.REDIS_URL;

describe("store-aggregated metrics across instances", () => {
  if (!REDIS_URL) {
    test("needs a Redis server", () => {
      throw new Error(
        "REDIS_URL is not set: run scripts/test.sh, or install redis-server and export REDIS_URL=redis://127.0.0.1:PORT",
      );
    });
    return;
  }
  const prefix = `test:metrics:${Date.now().toString(36)}:`;
  const config = loadConfig(
    `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }\nworker: { metrics: store }\n`,
  );
  const instances = [1, 2].map(() => {
    const store = tcpStore({ url: REDIS_URL, prefix, dial: nodeDial });
    const pending: Promise<unknown>[] = [];
    const deps = buildDeps({
      config,
      store,
      metrics: new StoreMetrics(store),
      runtime: "bun",
      logger: silentLogger,
      background: (p) => void pending.push(p),
    });
    return { app: createApp(deps), store, pending };
  });
  afterAll(async () => {
    for (const i of instances) await i.store.close();
  });

  test("each instance's jobs add up in /stats and /metrics of both", async () => {
    let n = 0;
    for (const [idx, count] of [
      [0, 3],
      [1, 2],
    ]) {
      for (let k = 0; k < count; k++) {
        const body = JSON.stringify(failureCallback(`src_${prefix}${n}`));
        const url = "http://worker.test/jobs/failure";
        const res = await instances[idx].app.request(url, {
          method: "POST",
          headers: {
            "upstash-message-id": `m_${prefix}${n++}`,
            "upstash-signature": await signRequest({ key: DEV_SIGNING_KEYS.current, url, body }),
          },
          body,
        });
        expect(res.status).toBe(200);
      }
    }
    for (const i of instances) await Promise.all(i.pending);
    for (const i of instances) {
      const stats = (await (await i.app.request("http://worker.test/stats")).json()) as {
        scope: string;
        families: { failure: { succeeded: number } };
      };
      expect(stats).toMatchObject({ scope: "store", families: { failure: { succeeded: 5 } } });
      expect(await (await i.app.request("http://worker.test/metrics")).text()).toContain(
        'alertagent_jobs_total{family="failure",outcome="succeeded"} 5',
      );
    }
  });
});

test("worker.metrics: store — the first scrape, before any job, already shows alertagent_worker_info", async () => {
  const { MemoryStore } = await import("../../src/store/memory.ts");
  const config = loadConfig(
    `qstash: { current_signing_key: ${DEV_SIGNING_KEYS.current}, next_signing_key: ${DEV_SIGNING_KEYS.next} }\nworker: { name: first-scrape, metrics: store }\n`,
  );
  const store = new MemoryStore();
  const app = createApp(
    buildDeps({ config, store, metrics: new StoreMetrics(store), runtime: "workerd", logger: silentLogger }),
  );
  const text = await (await app.fetch(new Request("http://w/metrics"))).text();
  expect(text).toMatch(/^alertagent_worker_info\{[^}]*name="first-scrape"[^}]*\} 1$/m);
});
