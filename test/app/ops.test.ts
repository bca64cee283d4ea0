import { describe, expect, test } from "bun:test";
import { storeUnavailable } from "../../src/errors.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";

/** A store that does not answer, failing as the real ones do (store_unavailable: src/store/redis.ts, sqlite.ts). */
const refused = () => storeUnavailable(new Error("connection refused"));
class DownStore extends MemoryStore {
  override async ping(): Promise<void> {
    throw refused();
  }
  override async set(): Promise<boolean> {
    throw refused();
  }
  override async acquire(): Promise<never> {
    throw refused();
  }
  override async writeMany(): Promise<boolean> {
    throw refused();
  }
  override async get(): Promise<never> {
    throw refused();
  }
  override async mget(): Promise<never> {
    throw refused();
  }
}

class SlowStore extends MemoryStore {
  override async ping(): Promise<void> {
    await Bun.sleep(10_000);
  }
  override async mget<T>(): Promise<(T | null)[]> {
    await Bun.sleep(10_000);
    return [];
  }
}

describe("health", () => {
  test("a store that hangs: /health still answers within the store check's 2 s (the breakers' read is bounded too)", async () => {
    const h = makeHarness("", { store: new SlowStore() });
    const started = Date.now();
    const res = await h.request("/health");
    const ms = Date.now() - started;
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(4000);
    expect(await res.json()).toMatchObject({
      checks: { store: { ok: false, detail: "memory store: no answer in 2000 ms" } },
    });
  }, 15_000);

  test("/health answers ok with identity, uptime and checks", async () => {
    const h = makeHarness("worker: { name: ai-worker-1, type: ai-analysis }\n");
    const res = await h.request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ok",
      name: "ai-worker-1",
      type: "ai-analysis",
      version: expect.any(String),
      runtime: "bun",
      uptime_s: expect.any(Number),
      checks: { store: { ok: true }, signing_keys: { ok: true }, config: { ok: true } },
    });
  });

  test("a store that does not answer makes /health down (503) and /health/ready name it", async () => {
    const h = makeHarness("", { store: new DownStore() });
    const health = await h.request("/health");
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe("down");
    const ready = await h.request("/health/ready");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { failed: string[] }).failed[0]).toContain("store");
    expect((await h.request("/health/live")).status).toBe(200);
  });

  test("/v1/jobs/:id and the other read routes answer 503 store_unavailable (not 500) when the store is down", async () => {
    const h = makeHarness("", { store: new DownStore() });
    for (const path of ["/v1/jobs/msg_x", "/v1/sync/status"]) {
      const res = await h.request(path);
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
    }
  });

  test("a bug behind a read route is a 500, not 'the store did not answer' (which would send the operator to the store)", async () => {
    class BuggyStore extends MemoryStore {
      override async get(): Promise<never> {
        throw new TypeError("Cannot read properties of undefined (reading 'status')");
      }
    }
    const h = makeHarness("", { store: new BuggyStore() });
    const res = await h.request("/v1/jobs/msg_x");
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).not.toBe("store_unavailable");
    expect(JSON.stringify(h.logs)).toContain("Cannot read properties of undefined");
  });

  test("a job that cannot be claimed because the store is down answers 503 store_unavailable, never 2xx", async () => {
    const h = makeHarness("", { store: new DownStore() });
    const res = await h.job("/jobs/failure", failureCallback("m"));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
  });
});

describe("/stats and /metrics", () => {
  test("count what happened, per family and outcome", async () => {
    const h = makeHarness();
    const body = failureCallback("msg_dead_1");
    await h.job("/jobs/failure", body, { messageId: "m1" });
    await h.job("/jobs/failure", body, { messageId: "m1" });
    await h.job("/jobs/failure", body, { messageId: "m2", retried: 1 });
    await h.job("/jobs/failure", body, { signature: null });
    await h.job("/jobs/failure", { nope: 1 });
    const stats = (await (await h.request("/stats")).json()) as {
      families: Record<string, Record<string, unknown>>;
    };
    // The unsigned request is not a job received: it counts only as unauthorized (README, "Security").
    expect(stats.families.failure).toMatchObject({
      received: 4,
      succeeded: 2,
      duplicates: 1,
      retried: 1,
      unauthorized: 1,
      failed_permanent: 1,
      failed: 1,
      in_flight: 0,
    });
    // m1 and m2 report the same dead source message: it is counted once.
    expect(stats.families.notification.dead_letters).toBe(1);
    expect((stats.families.failure.latency_ms as { p50: number }).p50).toBeGreaterThan(0);

    const metrics = await (await h.request("/metrics")).text();
    expect(metrics).toContain('alertagent_jobs_total{family="failure",outcome="succeeded"} 2');
    expect(metrics).toContain('alertagent_jobs_total{family="failure",outcome="unauthorized"} 1');
    expect(metrics).toContain('alertagent_jobs_total{family="failure",outcome="duplicate"} 1');
    // The unauthorized request is not a job: it has no duration (autoscale reads these).
    expect(metrics).toContain('alertagent_job_duration_seconds_count{family="failure"} 4');
    expect(metrics).toContain('alertagent_dead_letters_total{family="notification"} 1');
    expect(metrics).toMatch(
      /alertagent_worker_info\{name="alertagent-worker",type="general",version="[^"]+",runtime="bun"\} 1/,
    );
  });
});

describe("read routes", () => {
  test("/v1/jobs/:id shows the ledger entry; an unknown id is a 404 problem", async () => {
    const h = makeHarness();
    await h.job("/jobs/failure", failureCallback("msg_src"), { messageId: "msg_cb" });
    const entry = (await (await h.request("/v1/jobs/msg_cb")).json()) as Record<string, unknown>;
    expect(entry).toMatchObject({
      message_id: "msg_cb",
      family: "failure",
      status: "succeeded",
      attempts: 1,
    });
    const missing = await h.request("/v1/jobs/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  test("with worker.admin_token, /v1 needs the bearer token; ops routes stay open", async () => {
    const h = makeHarness("worker: { admin_token: t0p-secret }\n");
    const denied = await h.request("/v1/jobs/x");
    expect(denied.status).toBe(401);
    expect(JSON.stringify(await denied.json())).not.toContain("t0p-secret");
    expect((await h.request("/v1/jobs/x", { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await h.request("/v1/jobs/x", { headers: { authorization: "Bearer t0p-secret" } })).status).toBe(
      404,
    );
    expect((await h.request("/health")).status).toBe(200);
  });

  test("unknown routes and unmounted families are 404 JSON problems", async () => {
    const h = makeHarness("worker: { type: notification }\n");
    const res = await h.job("/jobs/config-sync", { operation: "full" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});

describe("engine health in /health", () => {
  test("an LLM engine that does not answer degrades the worker (the built-in engine still answers)", async () => {
    const h = makeHarness(`ai:
  order: [dify, builtin]
  dify: { url: "http://127.0.0.1:9/v1", apps: { comprehensive: { mode: workflow, key: app-x } } }
`);
    const res = await h.request("/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      checks: { engines: Record<string, { ok: boolean; breaker: string }> };
    };
    expect(body.status).toBe("degraded");
    expect(body.checks.engines.dify).toMatchObject({ ok: false, breaker: "closed" });
    expect(body.checks.engines.builtin).toMatchObject({ ok: true, breaker: "none" });
    expect(await h.deps.metrics.render()).toContain('alertagent_engine_up{engine="dify-workflow"} 0');
  });
});
