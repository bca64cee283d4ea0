/**
 * The delivery stages of src/notify/stages.ts, each alone: what a user would see if one of them
 * misbehaved — a page sent twice, a repeat sent again, a long message lost between parts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Channel } from "../../src/notify/channels/channel.ts";
import { inputOf, notificationJobSchema } from "../../src/notify/job.ts";
import { viewsOf } from "../../src/notify/notifier.ts";
import { dedup, type Job, newRecord, plan, resume, runChannel, sendParts } from "../../src/notify/stages.ts";
import { makeHarness } from "../support/harness.ts";
import { startWebhookSink } from "../support/webhook-sink.ts";

const hook = startWebhookSink();
afterAll(() => hook.stop());

function setup(alerts = 1, messageId = `msg_${crypto.randomUUID()}`) {
  const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${hook.url}", dedup_window: 1h }\n`);
  const n = h.deps.notifier;
  const payload = {
    version: "4",
    groupKey: `{}:{alertname="Stage"}:${messageId}`,
    status: "firing",
    receiver: "r",
    alerts: Array.from({ length: alerts }, (_, i) => ({
      status: "firing",
      labels: { alertname: "Stage", instance: `node-${i}` },
      fingerprint: `f${i}`,
    })),
  };
  const job = notificationJobSchema.parse({ channels: ["hook"], payload });
  const input = inputOf(job);
  const j: Job = {
    deps: h.deps,
    n,
    job,
    input,
    groupOf: viewsOf(n, input, h.deps.now()),
    messageId,
    receivedAt: new Date(h.deps.now()).toISOString(),
    noteArrival: async () => true,
    logger: h.deps.logger,
    // The stages alone: nothing read with a claim, the answer's writes not made.
    batch: { read: () => undefined, defer: () => {}, afterWrite: () => {} },
  };
  return { h, j, ch: n.channels.get("hook") as Channel };
}

describe("delivery stages", () => {
  test("resume: a channel an earlier delivery settled is returned as it was, not sent again", async () => {
    const { j, ch } = setup();
    expect(await resume(j, ch)).toEqual({ saved: null });
    const before = hook.requests.length;
    const first = await runChannel(j, ch);
    expect(first.record.status).toBe("sent");
    expect(hook.requests.length).toBe(before + 1);
    const again = await resume(j, ch);
    expect(again).toEqual({ settled: { record: first.record } });
  });

  test("dedup: the same group state from another message is recorded as a duplicate", async () => {
    const a = setup(2, "msg_dedup_a");
    await runChannel(a.j, a.ch);
    const b = { ...a.j, messageId: "msg_dedup_b" };
    const d = await dedup(b, a.ch, newRecord(b, a.ch));
    expect(d).toMatchObject({
      duplicate: { record: { status: "skipped_duplicate", duplicate_of: "msg_dedup_a" } },
    });
  });

  test("plan, then send parts: every part is sent once, and a part already sent is skipped", async () => {
    const { j, ch } = setup(3);
    const record = await plan(j, ch, newRecord(j, ch));
    expect(record.parts.length).toBeGreaterThan(0);
    expect(record.parts.every((p) => !p.sent)).toBe(true);
    const before = hook.requests.length;
    await sendParts(j, ch, record);
    expect(record.parts.every((p) => p.sent)).toBe(true);
    expect(hook.requests.length).toBe(before + record.parts.length);
    await sendParts(j, ch, record);
    expect(hook.requests.length).toBe(before + record.parts.length);
  });
});
