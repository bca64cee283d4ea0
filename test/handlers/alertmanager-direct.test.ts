/**
 * Alertmanager publishing straight to QStash (docs/contracts.md#alertmanager-webhook-payload): the body QStash delivers is the raw
 * Alertmanager webhook payload. Notification takes its channels from `?channels=` or from the
 * receiver's name (as config sync renders it); analysis takes `?type=`.
 */
import { describe, expect, test } from "bun:test";
import { readFixture } from "../support/fixtures.ts";
import { makeHarness } from "../support/harness.ts";

const fixture = async (name: string) => readFixture<Record<string, unknown>>(name);
const channels = `channels:\n  console: { type: console }\n  ops.log: { type: console }\n`;

describe("a raw Alertmanager payload as the job body", () => {
  test("/jobs/notification?channels=… sends to the named channels", async () => {
    const h = makeHarness(channels);
    const res = await h.job("/jobs/notification?channels=console", await fixture("alertmanager-firing.json"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deliveries: { channel: string; status: string }[] };
    expect(body.deliveries).toEqual([expect.objectContaining({ channel: "console", status: "sent" })]);
  });

  test("its alerts' analyses are on the page once analysed; ?analysis=false leaves them out", async () => {
    const h = makeHarness(`${channels}ai: { order: [builtin] }\n`);
    const payload = await fixture("alertmanager-firing.json");
    expect((await h.job("/jobs/analysis?type=quick", payload)).status).toBe(200);
    expect((await h.job("/jobs/notification?channels=console", payload)).status).toBe(200);
    // Written by the built-in engine: the page says so, for how far to trust it.
    expect(h.printed.at(-1)).toContain("🔎 Analysis (built-in rules, no LLM): ");
    // (another group: the same one again would be skipped as a repeat within the dedup window)
    const other = { ...payload, groupKey: `${payload.groupKey}-again` };
    const before = h.printed.length;
    expect((await h.job("/jobs/notification?channels=console&analysis=false", other)).status).toBe(200);
    expect(h.printed).toHaveLength(before + 1);
    expect(h.printed.at(-1)).toContain("HighCPU");
    expect(h.printed.at(-1)).not.toContain("Analysis");
  });

  test("without ?channels the receiver's name (regex-escaped by Alertmanager) names them", async () => {
    const h = makeHarness(channels);
    const payload = { ...(await fixture("alertmanager-firing.json")), receiver: "console,ops\\.log" };
    const res = await h.job("/jobs/notification", payload);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deliveries: { channel: string }[] };
    expect(body.deliveries.map((d) => d.channel).sort()).toEqual(["console", "ops.log"]);
  });

  test("a receiver that names no configured channel is a 489 saying so", async () => {
    const h = makeHarness(channels);
    const res = await h.job("/jobs/notification", await fixture("alertmanager-firing.json"));
    expect(res.status).toBe(489);
    expect(JSON.stringify(await res.json())).toContain("alertagent-notify");
  });

  test("a payload missing its alerts, or of another version, is a 489 naming that field, not the job's", async () => {
    const h = makeHarness(`${channels}ai: { order: [builtin] }\n`);
    const firing = await fixture("alertmanager-firing.json");
    const { alerts: _, ...noAlerts } = firing;
    for (const [body, field] of [
      [noAlerts, "payload.alerts"],
      [{ ...firing, alerts: null }, "payload.alerts"],
      [{ ...firing, alerts: [] }, "payload.alerts"],
      [{ ...firing, version: 4 }, "payload.version"],
      [{ ...firing, version: "5" }, "payload.version"],
      [
        {
          ...firing,
          alerts: [{ ...(firing.alerts as Record<string, unknown>[])[0], startsAt: "yesterday" }],
        },
        "payload.alerts[0].startsAt",
      ],
    ] as const) {
      for (const path of ["/jobs/notification?channels=console", "/jobs/analysis?type=quick"]) {
        const res = await h.job(path, body);
        const text = JSON.stringify(await res.json());
        expect(res.status, `${path} ${text}`).toBe(489);
        expect(text, path).toContain(field);
        expect(text, path).not.toContain("Unrecognized");
      }
    }
  });

  test("/jobs/analysis?type=quick analyses every alert of the payload", async () => {
    const h = makeHarness("ai: { order: [builtin] }\n");
    const res = await h.job("/jobs/analysis?type=quick", await fixture("alertmanager-firing.json"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { type: string; engine: string }[] };
    expect(body.results.length).toBe(2);
    expect(body.results.every((r) => r.type === "quick" && r.engine === "builtin")).toBe(true);
  });
});
