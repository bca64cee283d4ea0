import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { permanent, rateLimited, transient } from "../../src/errors.ts";
import { type JobHandler, parseJob } from "../../src/jobs/handler.ts";
import { type JobRequest, runJob } from "../../src/jobs/runner.ts";
import { Ledger } from "../../src/store/ledger.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";
import { around } from "../support/store-spy.ts";

const enc = new TextEncoder();
const req = (body: unknown, over: Partial<JobRequest> = {}): JobRequest => ({
  family: "notification",
  body: enc.encode(JSON.stringify(body)),
  messageId: `msg_${crypto.randomUUID()}`,
  retried: 0,
  trusted: true,
  ...over,
});

/** A handler whose behaviour each test sets; counts how often its effect ran. */
function probe(behaviour: (n: number) => Promise<unknown>) {
  let calls = 0;
  const handler: JobHandler = {
    family: "notification",
    async handle(body) {
      parseJob(z.strictObject({ n: z.number() }), body);
      calls++;
      return behaviour(calls);
    },
  };
  return { handler, calls: () => calls };
}

/** A harness (worker.lease 45 s) whose store refuses every write once `goDown()` is called. */
function storeGoingDown() {
  let down = false;
  const store = around(new MemoryStore(), (method, call) =>
    down && method === "writeMany" ? Promise.reject(new Error("connection refused")) : call(),
  );
  const goDown = () => {
    down = true;
  };
  return { h: makeHarness("worker: { lease: 45s }\n", { store }), goDown };
}

describe("idempotency on Upstash-Message-Id", () => {
  test("replays a completed message without running it again", async () => {
    const h = makeHarness();
    const p = probe(async (n) => ({ sent: n }));
    const r = req({ n: 1 });
    const first = await runJob(h.deps, p.handler, r);
    const second = await runJob(h.deps, p.handler, r);
    expect(first.status).toBe(200);
    expect(second).toMatchObject({
      status: 200,
      body: { sent: 1 },
      headers: { "X-Idempotent-Replay": "true" },
    });
    expect(p.calls()).toBe(1);
  });

  test("a delivery arriving while another works on the message gets 503 + Retry-After, and the job runs once", async () => {
    const h = makeHarness();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = probe(async () => {
      await gate;
      return { ok: true };
    });
    const r = req({ n: 1 });
    const first = runJob(h.deps, p.handler, r);
    await Bun.sleep(5);
    const second = await runJob(h.deps, p.handler, r);
    expect(second.status).toBe(503);
    expect(Number(second.headers["Retry-After"])).toBeGreaterThan(0);
    expect((second.body as { error: { code: string } }).error.code).toBe("in_progress");
    release();
    expect((await first).status).toBe(200);
    expect(p.calls()).toBe(1);
  });

  test("a crashed delivery's lease expires and the next delivery takes over", async () => {
    let clock = Date.now();
    const store = new MemoryStore(() => clock);
    const h = makeHarness("worker: { lease: 2s }\n", { store, now: () => clock });
    const id = "msg_crashed";
    // A delivery that claimed the message and died without finishing.
    const claim = await h.deps.ledger.claim(id, "notification", { retried: 0 });
    expect(claim.kind).toBe("claimed");
    // While it runs, the job is shown from its lease (the entry is written when a delivery ends).
    expect(await h.deps.ledger.get(id)).toMatchObject({
      status: "processing",
      family: "notification",
      attempts: 1,
      retried: 0,
    });
    const p = probe(async () => ({ ok: true }));
    expect((await runJob(h.deps, p.handler, req({ n: 1 }, { messageId: id }))).status).toBe(503);
    clock += 2500;
    const taken = await runJob(h.deps, p.handler, req({ n: 1 }, { messageId: id, retried: 1 }));
    expect(taken.status).toBe(200);
    expect(p.calls()).toBe(1);
    // The crashed delivery recorded no outcome, so it is not counted; QStash's retry count is.
    const entry = await h.deps.ledger.get(id);
    expect(entry).toMatchObject({ status: "succeeded", attempts: 1, retried: 1 });
  });

  /** A 700 ms job and, 450 ms in, its redelivery: with a 300 ms lease kept renewed, the redelivery waits. */
  async function expectLeaseKept(h: ReturnType<typeof makeHarness>, n: number) {
    const p = probe(async () => {
      await Bun.sleep(700);
      return { ok: true };
    });
    const r = req({ n });
    const first = runJob(h.deps, p.handler, r);
    await Bun.sleep(450);
    expect((await runJob(h.deps, p.handler, r)).status).toBe(503);
    expect((await first).status).toBe(200);
    expect(p.calls()).toBe(1);
  }

  test("a long job keeps its lease renewed, so a redelivery is not run in parallel", async () => {
    await expectLeaseKept(makeHarness("worker: { lease: 300ms }\n"), 1);
  });

  test("the renewal timer outlives a short job, stops itself when idle, and starts again for a long one", async () => {
    const h = makeHarness("worker: { lease: 300ms }\n");
    const timer = () => (h.deps.ledger as unknown as { renewer?: unknown }).renewer;
    const quick = probe(async () => ({ ok: true }));
    expect((await runJob(h.deps, quick.handler, req({ n: 1 }))).status).toBe(200);
    expect(timer()).toBeDefined(); // not cleared per job: the next job reuses it
    await Bun.sleep(250); // its tick (every 100 ms) finds no lease held
    expect(timer()).toBeUndefined();
    await expectLeaseKept(h, 2);
  });

  test("on Workers (a timer ends with its request) each job renews its own lease, and stops when it lets go", async () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store, { leaseMs: 300, retentionMs: 60_000, timerOutlivesJobs: false });
    const held = async (id: string) => {
      const claim = await ledger.claim(id, "notification", { retried: 0 });
      if (claim.kind !== "claimed") throw new Error(claim.kind);
      return ledger.keep(id, claim.lease, () => {});
    };
    const letGoA = await held("msg_wa");
    const letGoB = await held("msg_wb");
    letGoA(); // A's request ends; B runs on
    await Bun.sleep(700);
    expect(await store.pttl(ledger.leaseKey("msg_wb"))).toBeGreaterThan(0);
    letGoB();
    await Bun.sleep(450);
    expect(await store.get(ledger.leaseKey("msg_wb"))).toBeNull();
  });
});

describe("a message id belongs to one family", () => {
  test("a notification's id delivered to /jobs/analysis is 489 message_id_reused, not a replay", async () => {
    const h = makeHarness("channels:\n  out: { type: console }\n");
    const alert = { labels: { alertname: "Reuse", severity: "info" }, annotations: {} };
    const id = "msg_reused_1";
    expect(
      (await h.job("/jobs/notification", { channels: ["out"], alerts: [alert] }, { messageId: id })).status,
    ).toBe(200);
    const other = await h.job("/jobs/analysis", { type: "quick", alert }, { messageId: id });
    expect(other.status).toBe(489);
    expect(other.headers.get("x-idempotent-replay")).toBeNull();
    expect(((await other.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "message_id_reused",
      message: expect.stringContaining("/jobs/notification"),
    });
    // The notification's record is untouched and its own redelivery still replays.
    expect(await h.deps.ledger.get(id)).toMatchObject({ family: "notification", status: "succeeded" });
    const again = await h.job(
      "/jobs/notification",
      { channels: ["out"], alerts: [alert] },
      { messageId: id },
    );
    expect(again.headers.get("x-idempotent-replay")).toBe("true");
  });
});

describe("outcome → status", () => {
  test("a permanent failure answers 489 with Upstash-NonRetryable-Error and is recorded failed", async () => {
    const h = makeHarness();
    const p = probe(async () => {
      throw permanent("unknown_channel", 'channel "nope" is not configured');
    });
    const r = req({ n: 1 });
    const reply = await runJob(h.deps, p.handler, r);
    expect(reply).toMatchObject({ status: 489, headers: { "Upstash-NonRetryable-Error": "true" } });
    expect(await h.deps.ledger.get(r.messageId!)).toMatchObject({
      status: "failed",
      http_status: 489,
      error: { code: "unknown_channel" },
    });
    const again = await runJob(h.deps, p.handler, r);
    expect(again).toMatchObject({ status: 489, headers: { "X-Idempotent-Replay": "true" } });
    expect(p.calls()).toBe(1);
  });

  test("a transient failure answers 503 + Retry-After and the retry runs the job again", async () => {
    const h = makeHarness();
    const p = probe(async (n) => {
      if (n === 1) throw transient("downstream_unavailable", "DingTalk answered 502", 30);
      return { ok: true };
    });
    const r = req({ n: 1 });
    const first = await runJob(h.deps, p.handler, r);
    expect(first).toMatchObject({ status: 503, headers: { "Retry-After": "30" } });
    expect(await h.deps.ledger.get(r.messageId!)).toMatchObject({
      status: "processing",
      error: { code: "downstream_unavailable" },
    });
    const second = await runJob(h.deps, p.handler, { ...r, retried: 1 });
    expect(second.status).toBe(200);
    expect(p.calls()).toBe(2);
  });

  test("an outcome the store could not record answers 503 with Retry-After the lease: sooner would only meet in_progress", async () => {
    const { h, goDown } = storeGoingDown();
    const p = probe(async () => {
      goDown(); // the store goes away while the job runs
      return { ok: true };
    });
    const r = req({ n: 1 });
    const first = await runJob(h.deps, p.handler, r);
    expect(first).toMatchObject({ status: 503, headers: { "Retry-After": "45" } });
    expect(JSON.stringify(first.body)).toContain("deliver it again in 45 s, once its lease has run out");
  });

  test("an unrecordable outcome of a job a robot throttled keeps the robot's longer wait", async () => {
    const { h, goDown } = storeGoingDown();
    const p = probe(async () => {
      goDown();
      throw rateLimited("robot_throttled", "DingTalk throttles this robot for 10 minutes", 600);
    });
    expect(await runJob(h.deps, p.handler, req({ n: 1 }))).toMatchObject({
      status: 503,
      headers: { "Retry-After": "600" },
    });
  });

  test("a downstream rate limit answers 429 + Retry-After", async () => {
    const h = makeHarness();
    const p = probe(async () => {
      throw rateLimited("robot_rate_limited", "DingTalk robot over 20 msgs/min", 42);
    });
    expect(await runJob(h.deps, p.handler, req({ n: 1 }))).toMatchObject({
      status: 429,
      headers: { "Retry-After": "42" },
    });
  });

  test("an unexpected bug answers 500 (retryable) without leaking the error", async () => {
    const h = makeHarness();
    const p = probe(async () => {
      throw new TypeError("secret-ish internals");
    });
    const reply = await runJob(h.deps, p.handler, req({ n: 1 }));
    expect(reply.status).toBe(500);
    expect(JSON.stringify(reply.body)).not.toContain("secret-ish");
    expect(h.logs.some((l) => l.msg === "job handler crashed")).toBe(true);
  });

  test("invalid JSON answers 489 invalid_json", async () => {
    const h = makeHarness();
    const reply = await runJob(h.deps, probe(async () => 1).handler, {
      ...req({}),
      body: enc.encode("{nope"),
    });
    expect(reply.status).toBe(489);
    expect((reply.body as { error: { code: string } }).error.code).toBe("invalid_json");
  });

  test("a payload of the wrong shape answers 489 naming each bad path", async () => {
    const h = makeHarness();
    const reply = await runJob(h.deps, probe(async () => 1).handler, req({ n: "one", extra: true }));
    const err = (reply.body as { error: { code: string; details: { path: string }[] } }).error;
    expect(reply.status).toBe(489);
    expect(err.code).toBe("invalid_payload");
    expect(err.details.map((d) => d.path).sort()).toEqual(["(root)", "n"]);
  });

  test("a body over worker.body_limit answers 489 payload_too_large", async () => {
    const h = makeHarness("worker: { body_limit: 1kb }\n");
    const reply = await runJob(h.deps, probe(async () => 1).handler, {
      ...req({}),
      body: new Uint8Array(1025),
    });
    expect(reply.status).toBe(489);
    expect((reply.body as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});

describe("message ids", () => {
  test("one longer than /v1/jobs/:id can read back is a 489 naming the header; the longest allowed is recorded and readable", async () => {
    const h = makeHarness();
    const long = `msg_${"x".repeat(600)}`;
    const refused = await h.job("/jobs/failure", failureCallback("src_long"), { messageId: long });
    expect(refused.status).toBe(489);
    expect(JSON.stringify(await refused.json())).toContain("Upstash-Message-Id");
    const edge = `msg_${"y".repeat(508)}`;
    expect(edge).toHaveLength(512);
    expect((await h.job("/jobs/failure", failureCallback("src_edge"), { messageId: edge })).status).toBe(200);
    expect((await h.request(`/v1/jobs/${edge}`)).status).toBe(200);
  });
});

describe("per-process concurrency gate", () => {
  test("over worker.concurrency answers 429 with Retry-After no shorter than QStash's backoff; the gate frees up afterwards", async () => {
    const h = makeHarness("worker: { concurrency: 2 }\n");
    let release!: () => void;
    const wait = new Promise<void>((r) => (release = r));
    const p = probe(async () => {
      await wait;
      return { ok: true };
    });
    const a = runJob(h.deps, p.handler, req({ n: 1 }));
    const b = runJob(h.deps, p.handler, req({ n: 2 }));
    await Bun.sleep(5);
    const c = await runJob(h.deps, p.handler, req({ n: 3 }));
    expect(c.status).toBe(429);
    // Its 1 s, raised to QStash's own first backoff: sooner would spend a retry while the worker is busy.
    expect(c.headers["Retry-After"]).toBe("13");
    release();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect((await runJob(h.deps, p.handler, req({ n: 4 }))).status).toBe(200);
    expect(h.deps.gate.inFlight).toBe(0);
    // The refusal ran nothing: it is counted, but not timed (autoscale reads the durations).
    const metrics = await (await h.request("/metrics")).text();
    expect(metrics).toMatch(/alertagent_jobs_total\{family="[a-z-]+",outcome="rate_limited"\} 1/);
    expect(metrics).toMatch(/alertagent_job_duration_seconds_count\{family="[a-z-]+"\} 3/);
  });
});

describe("HTTP job route", () => {
  test("an oversize body is refused from Content-Length without reading it", async () => {
    const h = makeHarness("worker: { body_limit: 1kb }\n");
    const big = JSON.stringify({ channels: ["console"], alerts: [], pad: "y".repeat(4000) });
    const res = await h.job("/jobs/notification", big);
    expect(res.status).toBe(489);
    expect(res.headers.get("upstash-nonretryable-error")).toBe("true");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  test("Upstash-Retried is counted as a retry and logged", async () => {
    const h = makeHarness();
    await h.job("/jobs/failure", failureCallback("msg_r"), { retried: 2 });
    expect(await h.deps.metrics.render()).toContain('alertagent_retries_total{family="failure"} 1');
    expect(h.logs.find((l) => l.msg === "job answered")).toMatchObject({ retried: 2, family: "failure" });
  });

  test("an unsigned request's huge message id makes a short log line, not one its sender sizes", async () => {
    const h = makeHarness();
    const res = await h.job("/jobs/notification", "{}", { signature: null, messageId: "Z".repeat(7000) });
    expect(res.status).toBe(401);
    const line = JSON.stringify(h.logs.find((l) => l.msg === "job answered"));
    expect(line).toContain("ZZZ");
    expect(line.length).toBeLessThan(1_000);
  });

  test("an Idempotency-Key header works like Upstash-Message-Id on a direct call", async () => {
    const h = makeHarness();
    const body = failureCallback("msg_idem");
    const first = await h.job("/jobs/failure", body, {
      messageId: null,
      headers: { "idempotency-key": "k-1" },
    });
    const second = await h.job("/jobs/failure", body, {
      messageId: null,
      headers: { "idempotency-key": "k-1" },
    });
    expect(first.status).toBe(200);
    expect(second.headers.get("x-idempotent-replay")).toBe("true");
  });
});

test("a job without a message id that fails says its local id (X-Message-Id), and the failure is found under it", async () => {
  const h = makeHarness();
  const res = await h.job("/jobs/notification", { channels: "nope" }, { messageId: null });
  expect(res.status).toBe(489);
  const id = res.headers.get("x-message-id");
  expect(id).toMatch(/^local-/);
  const job = (await (await h.request(`/v1/jobs/${id}`)).json()) as {
    status?: string;
    error?: { code?: string };
  };
  expect(job).toMatchObject({ status: "failed", error: { code: "invalid_payload" } });
});

describe("log lines", () => {
  test("every job line carries family, message_id and retried (0 on a first delivery), even without a message id", async () => {
    const h = makeHarness();
    await runJob(h.deps, probe(async () => ({ ok: true })).handler, {
      ...req({ n: 1 }),
      messageId: undefined,
    });
    const line = h.logs.find((l) => l.msg === "job answered");
    expect(line).toMatchObject({
      family: "notification",
      retried: 0,
      message_id: expect.stringMatching(/^local-/),
    });
    expect(Object.keys(line ?? {})).toEqual(
      expect.arrayContaining(["ts", "level", "msg", "family", "message_id", "retried"]),
    );
  });

  test("a handler's notes go on the job's one line, and warn raises it", async () => {
    const h = makeHarness();
    const noting = (level?: "warn"): JobHandler => ({
      family: "notification",
      async handle(_body, ctx) {
        ctx.note({ sent: 2 });
        ctx.note({ channel: "slack", status: 999 }, level);
        return { ok: true };
      },
    });
    await runJob(h.deps, noting(), { ...req({ n: 1 }), messageId: "m_note_info" });
    await runJob(h.deps, noting("warn"), { ...req({ n: 1 }), messageId: "m_note_warn" });
    const lines = h.linesOf("m_note_");
    expect(lines).toHaveLength(2);
    // A note may not hide what the runner says: its `status` stays the answer's.
    expect(lines[0]).toMatchObject({
      level: "info",
      msg: "job answered",
      sent: 2,
      channel: "slack",
      status: 200,
    });
    expect(lines[1]).toMatchObject({
      level: "warn",
      msg: "job answered",
      message_id: "m_note_warn",
      status: 200,
    });
  });
});
