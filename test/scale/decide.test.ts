import { describe, expect, test } from "bun:test";
import { type DecisionInput, decide } from "../../src/scale/decide.ts";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const input = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  key: "alertagent-analysis",
  family: "analysis",
  current: 4,
  waitList: 0,
  active: 0,
  known: true,
  min: 1,
  max: 16,
  upThreshold: 0.7,
  downThreshold: 0.3,
  cooldownMs: 300_000,
  now: NOW,
  health: { errorRate: 0, p95Ms: 200, inFlightUse: 0.2, jobs: 100, turnedAway: 0 },
  limits: { maxErrorRate: 0.2, maxP95Ms: 30_000 },
  ...over,
});

/** The default health with `over` set. */
const health = (over: Partial<DecisionInput["health"]>): DecisionInput["health"] => ({
  ...input().health,
  ...over,
});

describe("autoscale decisions", () => {
  test("backlog up → parallelism up, within max", () => {
    const d = decide(input({ waitList: 40 }));
    expect(d.to).toBe(8);
    expect(d.reason).toContain("scaling up");
    expect(decide(input({ current: 12, waitList: 400 })).to).toBe(16);
  });

  test("backlog down → parallelism down by one, never under min", () => {
    expect(decide(input({ waitList: 0 })).to).toBe(3);
    const atMin = decide(input({ current: 1, waitList: 0 }));
    expect(atMin.to).toBe(1);
    expect(atMin.reason).toContain("holding");
  });

  test("between the thresholds nothing moves", () => {
    expect(decide(input({ waitList: 2 })).to).toBe(4);
  });

  test("cooldown: no second move within it", () => {
    const d = decide(input({ waitList: 40, lastChangeAt: NOW - 60_000 }));
    expect(d.to).toBe(4);
    expect(d.reason).toContain("cooldown");
    expect(decide(input({ waitList: 40, lastChangeAt: NOW - 301_000 })).to).toBe(8);
  });

  test("an unhealthy worker backs off even with a backlog", () => {
    const errors = decide(
      input({
        waitList: 400,
        health: health({ errorRate: 0.5 }),
      }),
    );
    expect(errors.to).toBe(2);
    expect(errors.reason).toContain("error rate");
    const slow = decide(
      input({
        waitList: 400,
        health: health({ p95Ms: 45_000 }),
      }),
    );
    expect(slow.to).toBe(2);
    expect(slow.reason).toContain("p95");
  });

  test("a worker that is already full does not get more", () => {
    const d = decide(
      input({
        waitList: 400,
        health: health({ inFlightUse: 0.95 }),
      }),
    );
    expect(d.to).toBe(4);
    expect(d.reason).toContain("busy");
  });

  test("a worker that turned jobs away (429) since the last run gets less, by the share it turned away (each 429 spends a retry)", () => {
    const few = decide(
      input({ current: 18, max: 32, waitList: 400, health: health({ jobs: 3, turnedAway: 7 }) }),
    );
    // 3 of 10 taken would be 5; one run halves at most (a burst of 429s is not the whole story).
    expect(few).toMatchObject({ to: 9, ceiling: 18 });
    expect(few.reason).toContain("turned 7 of 10 analysis jobs away (429)");
    // One of a hundred: one step down, not a halving.
    expect(decide(input({ waitList: 400, health: health({ turnedAway: 1 }) })).to).toBe(3);
  });

  test("one failure of a few jobs is not ill health (no back-off), nor a reason to scale up into it", () => {
    const d = decide(
      input({
        waitList: 40,
        health: health({ errorRate: 1, jobs: 1 }),
      }),
    );
    expect(d.to).toBe(4);
    expect(d.reason).toContain("1 jobs failed at rate 1 > 0.2");
    // Four jobs, all failing against an unreachable webhook, and a wait list: held, not doubled.
    expect(decide(input({ waitList: 200, health: health({ errorRate: 1, jobs: 4 }) })).to).toBe(4);
  });

  test("one slow job is not a slow worker (p95 needs as many jobs as the error rate to back off), but it is no reason to scale up either", () => {
    const d = decide(input({ waitList: 400, health: health({ p95Ms: 58_500, jobs: 1 }) }));
    expect(d.to).toBe(4);
    expect(d.reason).toContain("p95 latency 58500 ms > 30000 ms since the last run: holding");
  });

  test("after backing off from 429s, scale-ups stop below the parallelism that caused them (no sawtooth)", () => {
    const up = decide(input({ current: 5, waitList: 400, ceiling: 8 }));
    expect(up.to).toBe(7);
    const held = decide(input({ current: 7, waitList: 400, ceiling: 8 }));
    expect(held).toMatchObject({ to: 7, reason: expect.stringContaining("8 turned jobs away lately") });
  });

  test("a key QStash does not know yet is left alone; a key whose every slot is busy is not scaled down", () => {
    const fresh = decide(input({ known: false, waitList: 0 }));
    expect(fresh.to).toBe(4);
    expect(fresh.reason).toContain("no messages under this key yet");
    const busy = decide(input({ waitList: 0, active: 4 }));
    expect(busy.to).toBe(4);
    expect(busy.reason).toContain("all 4 slots busy");
  });

  test("a value outside [min, max] is brought back first", () => {
    expect(decide(input({ current: 40 })).to).toBe(16);
    expect(decide(input({ current: 0, min: 2 })).to).toBe(2);
  });

  test("records its inputs", () => {
    expect(decide(input({ waitList: 40 })).inputs).toEqual({
      wait_list: 40,
      backlog_per_unit: 10,
      error_rate: 0,
      p95_ms: 200,
      in_flight_use: 0.2,
      jobs: 100,
      turned_away: 0,
    });
  });
});
