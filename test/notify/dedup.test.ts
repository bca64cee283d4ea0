/** The dedup claim between two deliveries of one group state (src/notify/dedup.ts), raced step by step. */
import { describe, expect, test } from "bun:test";
import { alertmanagerPayloadSchema } from "../../src/alerts/alert.ts";
import {
  type Claiming,
  claimNotification,
  dedupKeyOf,
  groupState,
  receivedWrites,
} from "../../src/notify/dedup.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { fixture } from "../support/alert-groups.ts";
import { around } from "../support/store-spy.ts";

const payload = alertmanagerPayloadSchema.parse(fixture("alertmanager-firing.json"));
const claiming = (messageId: string): Claiming => ({
  messageId,
  receivedAt: new Date().toISOString(),
  now: Date.now(),
  windowMs: 600_000,
  lateCopyMs: 60_000,
  noteArrival: async () => true,
  holdMs: 600_000,
  leaseKey: (id) => `lease:${id}`,
  entryKey: (id) => `job:${id}`,
});

describe("the dedup claim", () => {
  test("a holder's own retry renewing while another delivery takes it over: one of them sends, not both", async () => {
    const memory = new MemoryStore();
    // A claims the state; its lease is gone (it died, as far as anyone can tell).
    expect((await claimNotification(memory, "hook", payload, claiming("A"))).kind).toBe("send");
    let retryOfA: Promise<{ kind: string }> | undefined;
    // B looks at A's lease; just then A's redelivery comes back and renews its claim.
    const store = around(memory, (method, call) => {
      if (method === "pttl" && !retryOfA) {
        retryOfA = claimNotification(memory, "hook", payload, claiming("A"));
        return retryOfA.then(call);
      }
      return call();
    });
    const b = await claimNotification(store, "hook", payload, claiming("B"));
    const a = await retryOfA;
    expect([a?.kind, b.kind].sort()).toEqual(["in_flight", "send"]);
  });

  test("a holder waiting for QStash's retry (its entry open, its lease let go after a 503) is not taken over", async () => {
    const store = new MemoryStore();
    expect((await claimNotification(store, "hook", payload, claiming("A"))).kind).toBe("send");
    await store.set("job:A", { status: "processing", error: { code: "channel_unavailable" } });
    expect((await claimNotification(store, "hook", payload, claiming("B"))).kind).toBe("in_flight");
    // Its own retry carries on.
    expect((await claimNotification(store, "hook", payload, claiming("A"))).kind).toBe("send");
  });

  test("a copy that read the group before another copy sent and recorded it is a duplicate, not a second send", async () => {
    const memory = new MemoryStore();
    let other: Promise<unknown> | undefined;
    // A reads what the channel last received (nothing yet); before its claim is written, B (an HA
    // peer's copy of the same state) claims it, sends, records the send and lets its claim go.
    const store = around(memory, (method, call) => {
      if ((method === "set" || method === "acquire") && !other) {
        other = (async () => {
          const b = await claimNotification(memory, "hook", payload, claiming("B"));
          if (b.kind !== "send") throw new Error(`B: ${b.kind}`);
          await memory.writeMany(receivedWrites(b.claim, "B", new Date().toISOString(), 600_000));
        })();
        return other.then(call);
      }
      return call();
    });
    const a = await claimNotification(store, "hook", payload, claiming("A"));
    expect(a).toEqual({ kind: "duplicate", message: "B" });
    // The claim A won on its old view is let go: a later state of the group is not held up by it.
    expect(await memory.get(`${dedupKeyOf("hook", payload)}:${groupState(payload)}:-`)).toBeNull();
  });
});
