import { describe, expect, test } from "bun:test";
import { statusOf } from "../../src/qstash/outcome.ts";
import { openMessageKeys } from "../../src/store/ledger.ts";
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

describe("eviction never drops what an open message still needs", () => {
  const store = () => new MemoryStore(Date.now, 100, openMessageKeys);

  test("a held lease, an unfinished entry and its steps survive churn; finished ones go", async () => {
    const s = store();
    await s.acquire("lease:msg_long", { token: "t" }, 60_000, "job:msg_long");
    await s.set("step:msg_long:notify:robot", { status: "succeeded" });
    await s.set("job:msg_retry", { status: "processing" });
    await s.set("step:msg_retry:notify:robot", { status: "succeeded" });
    await s.set("notification:msg_retry:robot", { parts: [] });
    await s.set("job:msg_done", { status: "succeeded" });
    await s.set("step:msg_done:notify:robot", { status: "succeeded" });
    for (let i = 0; i < 400; i++) await s.set(`job:msg_other_${i}`, { status: "succeeded" });
    expect(await s.get("lease:msg_long")).toEqual({ token: "t" });
    expect(await s.get("step:msg_long:notify:robot")).toEqual({ status: "succeeded" });
    expect(await s.get("job:msg_retry")).toEqual({ status: "processing" });
    expect(await s.get("step:msg_retry:notify:robot")).toEqual({ status: "succeeded" });
    expect(await s.get("notification:msg_retry:robot")).toEqual({ parts: [] });
    expect(await s.get("job:msg_done")).toBeNull();
    expect(await s.get("step:msg_done:notify:robot")).toBeNull();
  });

  test("when only live keys are left, a new lease is refused with 503 store_full, not run", async () => {
    const s = store();
    for (let i = 0; i < 95; i++) await s.acquire(`lease:msg_${i}`, { token: i }, 60_000, `job:msg_${i}`);
    const refused = await s.acquire("lease:msg_new", { token: "n" }, 60_000, "job:msg_new").catch((e) => e);
    expect({ code: refused.code, status: statusOf(refused), retryAfterS: refused.retryAfterS }).toEqual({
      code: "store_full",
      status: 503,
      retryAfterS: 5,
    });
    for (let i = 0; i < 95; i++) expect(await s.get(`lease:msg_${i}`)).toEqual({ token: i });
  });
});

test("an open message whose id holds ':' (an Idempotency-Key) keeps its steps too", async () => {
  const s = new MemoryStore(Date.now, 100, openMessageKeys);
  await s.acquire("lease:order:42", { token: "t" }, 60_000, "job:order:42");
  await s.set("step:order:42:notify:robot", { status: "succeeded" });
  for (let i = 0; i < 300; i++) await s.set(`job:msg_done_${i}`, { status: "succeeded" });
  expect(await s.get("step:order:42:notify:robot")).toEqual({ status: "succeeded" });
});

test("a finished job whose result holds a nested processing status is evicted like any finished job", async () => {
  const s = new MemoryStore(Date.now, 100, openMessageKeys);
  // An async webhook answered {"status":"processing"}: kept in the result, not the entry's status.
  const finished = {
    message_id: "msg_async",
    family: "notification",
    status: "succeeded",
    result: { deliveries: [{ channel: "hook", status: "sent", response: { status: "processing" } }] },
  };
  await s.set("job:msg_async", finished);
  await s.set("step:msg_async:notify:hook", { status: "succeeded" });
  await s.set("job:msg_open", { message_id: "msg_open", family: "notification", status: "processing" });
  for (let i = 0; i < 300; i++) await s.set(`job:msg_other_${i}`, { status: "succeeded" });
  expect(await s.get("job:msg_async")).toBeNull();
  expect(await s.get("step:msg_async:notify:hook")).toBeNull();
  expect(await s.get("job:msg_open")).not.toBeNull();
});
