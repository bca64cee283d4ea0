/**
 * Store-aggregated metrics (src/telemetry/store-metrics.ts): a gauge set to the value this
 * isolate last wrote is not written again for a minute — on Workers each write is two
 * subrequests, and every analysis sets engineUp.
 */
import { expect, test } from "bun:test";
import { MemoryStore } from "../../src/store/memory.ts";
import { StoreMetrics } from "../../src/telemetry/store-metrics.ts";
import { around } from "../support/store-spy.ts";

test("a gauge is written when it changes, and again after a minute, not on every flush", async () => {
  const calls: string[] = [];
  const store = around(new MemoryStore(), (method, call) => {
    calls.push(method);
    return call();
  });
  let now = 1_000_000;
  const m = new StoreMetrics(store, () => now);
  const flushSetting = async (v: number) => {
    m.set("engineUp", { engine: "builtin" }, v);
    await m.flush();
  };
  const gaugeWrites = () => calls.filter((c) => c === "hgetall").length;

  await flushSetting(1);
  expect(gaugeWrites()).toBe(1);
  for (let i = 0; i < 10; i++) await flushSetting(1);
  expect(gaugeWrites()).toBe(1); // the same value: nothing to write
  await flushSetting(0);
  expect(gaugeWrites()).toBe(2); // changed
  now += 61_000;
  await flushSetting(0);
  expect(gaugeWrites()).toBe(3); // the minute's refresh (another isolate may have written)
  // The store holds the last value written, as one set of figures.
  expect((await m.snapshot()).values.engineUp).toEqual([{ labels: { engine: "builtin" }, value: 0 }]);
});

/** Metrics over a store whose writes fail until `up()`. */
function storeDown() {
  let fail = true;
  const store = around(new MemoryStore(), (method, call) => {
    if (method === "hincr" && fail) return Promise.reject(new Error("store down"));
    return call();
  });
  return { m: new StoreMetrics(store, () => 0), up: () => (fail = false) };
}

test("a gauge write that failed is tried again at the next flush", async () => {
  const { m, up } = storeDown();
  m.set("engineUp", { engine: "builtin" }, 1);
  await expect(m.flush()).rejects.toThrow("store down");
  up();
  m.set("engineUp", { engine: "builtin" }, 1);
  await m.flush();
  expect((await m.snapshot()).values.engineUp).toEqual([{ labels: { engine: "builtin" }, value: 1 }]);
});

test("counts and gauges recorded while the store is down reach it at the first flush after: an outage's failures are counted", async () => {
  const { m, up } = storeDown();
  for (let i = 0; i < 3; i++) {
    m.inc("jobs", { family: "failure", outcome: "failed_transient" });
    m.observe("jobDuration", { family: "failure" }, 0.05);
    await expect(m.flush()).rejects.toThrow("store down");
  }
  m.set("engineUp", { engine: "ollama" }, 0);
  await expect(m.flush()).rejects.toThrow("store down");
  up();
  m.inc("jobs", { family: "failure", outcome: "failed_transient" });
  await m.flush();
  const snap = await m.snapshot();
  expect(snap.values.jobs).toEqual([
    { labels: { family: "failure", outcome: "failed_transient" }, value: 4 },
  ]);
  expect(snap.values.engineUp).toEqual([{ labels: { engine: "ollama" }, value: 0 }]);
  expect(snap.histograms.jobDuration?.[0]?.count).toBe(3);
});

test("/metrics on a store refusing writes (full) but answering reads still shows the figures: a failed scrape reads as 'worker down'", async () => {
  const { makeHarness, failureCallback } = await import("../support/harness.ts");
  let full = false;
  const store = around(new MemoryStore(), (method, call) => {
    if (method === "hincr" && full) return Promise.reject(new Error("OOM command not allowed"));
    return call();
  });
  const h = makeHarness("", { store, metrics: "store" });
  expect((await h.job("/jobs/failure", failureCallback("msg_before_full"))).status).toBe(200);
  full = true;
  const res = await h.request("/metrics");
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('alertagent_jobs_total{family="notification",outcome="succeeded"} 0');
});

test("jobs_in_flight is scraped at 0 on store-aggregated metrics (Workers): a job's +1 and -1 in one flush wrote nothing, so the series never existed", async () => {
  const { makeHarness, failureCallback } = await import("../support/harness.ts");
  const h = makeHarness("", { metrics: "store" });
  const inFlight = async () =>
    (await (await h.request("/metrics")).text())
      .split("\n")
      .find((l) => l.startsWith('alertagent_jobs_in_flight{family="failure"}'));
  expect(await inFlight()).toBe('alertagent_jobs_in_flight{family="failure"} 0');
  expect((await h.job("/jobs/failure", failureCallback("msg_in_flight"))).status).toBe(200);
  expect(await inFlight()).toBe('alertagent_jobs_in_flight{family="failure"} 0');
});
