import { describe, expect, test } from "bun:test";
import {
  alertId,
  alertmanagerPayloadSchema,
  alertsOf,
  hasEnded,
  labelsFingerprint,
} from "../src/alerts/alert.ts";
import { readFixture } from "./support/fixtures.ts";

const fixture = async (name: string) => readFixture(name);

describe("the alert model", () => {
  test("every Alertmanager fixture parses as a v4 payload", async () => {
    for (const f of ["alertmanager-firing.json", "alertmanager-mixed.json", "alertmanager-zh.json"]) {
      const p = alertmanagerPayloadSchema.parse(await fixture(f));
      expect(p.alerts.length).toBeGreaterThan(0);
      for (const a of alertsOf(p)) expect(a.id).toBeTruthy();
    }
  });

  test("the alert id defaults to the fingerprint, else a stable hash of the labels", () => {
    expect(alertId({ fingerprint: "abc", labels: { alertname: "X" } })).toBe("abc");
    expect(alertId({ id: "a-1", fingerprint: "abc", labels: { alertname: "X" } })).toBe("a-1");
    const h = labelsFingerprint({ b: "2", alertname: "X" });
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(labelsFingerprint({ alertname: "X", b: "2" })).toBe(h);
    expect(labelsFingerprint({ alertname: "X", b: "3" })).not.toBe(h);
  });

  test("firing alerts carry Alertmanager's zero endsAt", async () => {
    const p = alertmanagerPayloadSchema.parse(await fixture("alertmanager-firing.json"));
    expect(hasEnded(p.alerts[0])).toBe(false);
    expect(hasEnded({ endsAt: "2026-11-28T09:00:00Z" })).toBe(true);
  });

  test("a payload of another version is refused", () => {
    expect(alertmanagerPayloadSchema.safeParse({ version: "3", alerts: [] }).success).toBe(false);
  });
});
