/**
 * A page arrives once when the store fails in the middle of a notification (docs/notifications.md,
 * "Exactly once"): the store fails one chosen call — refusing it (store_unavailable), running it
 * but losing its answer, or with a bug (a plain Error) — and the same message is delivered again
 * until it succeeds. What each receiver got is counted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { storeUnavailable } from "../../src/errors.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store, Write } from "../../src/store/store.ts";
import { fixture } from "../support/alert-groups.ts";
import { makeHarness } from "../support/harness.ts";
import { around, failingOnce } from "../support/store-spy.ts";
import { startWebhookSink, type WebhookSink } from "../support/webhook-sink.ts";

const writesTo = (prefix: string) => (method: string, args: unknown[]) =>
  method === "writeMany" && (args[0] as Write[]).some((w) => w.key.startsWith(prefix));

const sinks: WebhookSink[] = [];
function sink(): WebhookSink {
  const s = startWebhookSink();
  sinks.push(s);
  return s;
}
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.stop();
});

/** A harness whose `hook` channel is a new webhook sink, over `store` when given. */
function hooked(store?: Store) {
  const hook = sink();
  return {
    hook,
    h: makeHarness(`channels:\n  hook: { type: webhook, url: "${hook.url}" }\n`, store ? { store } : {}),
  };
}

/** A new group each time, so no test's dedup state meets another's. */
const page = () => ({ ...fixture("alertmanager-firing.json"), groupKey: `faults-${crypto.randomUUID()}` });
/** A notification of a new page to the `hook` channel. */
const pageJob = () => ({ channels: ["hook"], payload: page() });
const sendPage = (h: ReturnType<typeof makeHarness>, messageId: string) =>
  h.job("/jobs/notification", pageJob(), { messageId });

/** Delivers `body` as `messageId` until it is answered 200 (at most 4 times); the statuses. */
async function untilDone(
  h: ReturnType<typeof makeHarness>,
  body: unknown,
  messageId: string,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let retried = 0; retried < 4; retried++) {
    const res = await h.job("/jobs/notification", body, { messageId, retried });
    statuses.push(res.status);
    if (res.status === 200) break;
  }
  return statuses;
}

describe("the store failing during a notification: the page arrives once", () => {
  for (const mode of ["refused", "answer lost"] as const) {
    test(`the dedup claim ${mode}: the retry sends the page (it was never sent)`, async () => {
      const store = failingOnce(
        mode,
        (method, args) =>
          (method === "set" || method === "acquire") && String(args[0]).startsWith("notify:dedup:"),
      );
      const { hook, h } = hooked(store);
      const statuses = await untilDone(h, pageJob(), `msg_claim_${mode}`);
      expect(statuses.at(-1)).toBe(200);
      expect(hook.requests).toHaveLength(1);
    });
  }

  test("the dedup claim refused: the answer names the store, not the channel it never reached", async () => {
    const store = failingOnce(
      "refused",
      (method, args) =>
        (method === "set" || method === "acquire") && String(args[0]).startsWith("notify:dedup:"),
    );
    const { hook, h } = hooked(store);
    const res = await sendPage(h, "msg_claim_says");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("store_unavailable");
    expect(hook.requests).toHaveLength(0);
  });

  test("the claim's answer lost: the job answers 503, and its retry is not refused by its own lease", async () => {
    const store = failingOnce("answer lost", (method) => method === "acquire");
    const { hook, h } = hooked(store);
    const body = pageJob();
    expect((await h.job("/jobs/notification", body, { messageId: "msg_claim_lost" })).status).toBe(503);
    expect(
      (await h.job("/jobs/notification", body, { messageId: "msg_claim_lost", retried: 1 })).status,
    ).toBe(200);
    expect(hook.requests).toHaveLength(1);
  });

  for (const mode of ["refused", "answer lost", "bug"] as const) {
    test(`the record after the send ${mode}: the page is not sent again, and it shows sent`, async () => {
      const store = failingOnce(mode, writesTo("notification:"));
      const { hook, h } = hooked(store);
      const id = `msg_record_${mode.replace(" ", "_")}`;
      const statuses = await untilDone(h, pageJob(), id);
      expect(statuses.at(-1)).toBe(200);
      expect(hook.requests).toHaveLength(1);
      const seen = (await (await h.request(`/v1/notifications/${id}`)).json()) as {
        deliveries: { channel: string; status: string }[];
      };
      expect(seen.deliveries.map((d) => [d.channel, d.status])).toEqual([["hook", "sent"]]);
    });
  }

  test("the store down from the send on: the log says the page was sent and will be sent again", async () => {
    const store = around(new MemoryStore(), (method, call, args) =>
      writesTo("notification:")(method, args)
        ? Promise.reject(storeUnavailable("connection refused"))
        : call(),
    );
    const { hook, h } = hooked(store);
    const res = await sendPage(h, "msg_down");
    expect(res.status).toBe(503);
    expect(hook.requests).toHaveLength(1);
    expect(h.logs.find((l) => String(l.msg).startsWith("sent but not recorded"))).toMatchObject({
      level: "error",
      channel: "hook",
    });
  });

  test("the record after the send refused, and Alertmanager's repeat comes after the send's claim ran out: it is skipped", async () => {
    const hook = sink();
    const store = failingOnce("refused", writesTo("notification:msg_first"));
    const h = makeHarness(
      `worker: { lease: 1s }\nchannels:\n  hook: { type: webhook, url: "${hook.url}" }\n`,
      {
        store,
      },
    );
    const group = page();
    await h.job("/jobs/notification", { channels: ["hook"], payload: group }, { messageId: "msg_first" });
    await Bun.sleep(1100);
    const repeat = await h.job(
      "/jobs/notification",
      { channels: ["hook"], payload: group },
      { messageId: "msg_repeat" },
    );
    expect(repeat.status).toBe(200);
    expect(JSON.stringify(await repeat.json())).toContain("skipped_duplicate");
    expect(hook.requests).toHaveLength(1);
  });

  test("one channel's failure is not answered before the other channel has finished sending", async () => {
    const a = sink();
    const b = sink();
    a.answers.push(() => new Response("busy", { status: 503 }));
    b.answers.push(async () => {
      await Bun.sleep(800);
      return Response.json({ ok: true });
    });
    // a's failure cannot be recorded (the store refuses that write once).
    const store = failingOnce("refused", writesTo("notification:msg_two:a"));
    const h = makeHarness(
      `channels:\n  a: { type: webhook, url: "${a.url}" }\n  b: { type: webhook, url: "${b.url}" }\n`,
      { store },
    );
    const body = { channels: ["a", "b"], payload: page() };
    const first = await h.job("/jobs/notification", body, { messageId: "msg_two" });
    expect(first.status).toBe(503);
    // b was sent and recorded before the answer let the lease go: a retry now does not send b again.
    expect(b.requests).toHaveLength(1);
    const statuses = await untilDone(h, body, "msg_two");
    expect(statuses.at(-1)).toBe(200);
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(1);
  });

  test("an Alertmanager HA pair, the first send answered 503 while the twin waited: one page in the end", async () => {
    const hook = sink();
    hook.answers.push(async () => {
      await Bun.sleep(300);
      return new Response("busy", { status: 503 });
    });
    const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${hook.url}" }\n`);
    const body = pageJob();
    const one = h.job("/jobs/notification", body, { messageId: "msg_ha1" });
    await Bun.sleep(100);
    // The twin finds the same group being sent: 503 duplicate_in_flight, its failure recorded before any plan.
    const two = await h.job("/jobs/notification", body, { messageId: "msg_ha2" });
    expect(two.status).toBe(503);
    expect((await one).status).toBe(503);
    const twin = await untilDone(h, body, "msg_ha2");
    const first = await untilDone(h, body, "msg_ha1");
    expect([twin.at(-1), first.at(-1)]).toEqual([200, 200]);
    // The failed attempt, then one page.
    expect(hook.requests).toHaveLength(2);
  });
});

describe("a receiver slower than the timeout that did take the page", () => {
  test("an HA copy arriving meanwhile waits for the first message's retry, so both sends carry one Idempotency-Key", async () => {
    const hook = sink();
    hook.answers.push(async () => {
      await Bun.sleep(700);
      return Response.json({ ok: true });
    });
    const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${hook.url}", timeout: 300ms }\n`);
    const body = pageJob();
    const first = await h.job("/jobs/notification", body, { messageId: "msg_slow_a" });
    expect(first.status).toBe(503);
    // The copy finds the state claimed by a send that may have arrived: it waits.
    const copy = await h.job("/jobs/notification", body, { messageId: "msg_slow_b" });
    expect(copy.status).toBe(503);
    expect(await untilDone(h, body, "msg_slow_a")).toEqual([200]);
    const later = await h.job("/jobs/notification", body, { messageId: "msg_slow_b", retried: 1 });
    expect(later.status).toBe(200);
    expect(JSON.stringify(await later.json())).toContain("skipped_duplicate");
    expect(new Set(hook.requests.map((r) => r.headers["idempotency-key"]))).toEqual(
      new Set(["msg_slow_a:hook:1"]),
    );
  });
});
