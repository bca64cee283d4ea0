/**
 * A peer whose answer runs on (a runaway app, a broken proxy, a gzip bomb): each outbound edge
 * reads a bounded part of it (README, "Security") and the job goes on as the peer's answer allows.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Alert } from "../../src/alerts/alert.ts";
import { collectEvidence, type EvidenceConfig } from "../../src/analysis/evidence/collect.ts";
import { loadConfig } from "../../src/config/load.ts";
import { ENDLESS_BYTES, startEndlessServer } from "../support/endless-body.ts";
import { MINIMAL_YAML, makeHarness } from "../support/harness.ts";
import { makeSyncHarness } from "../support/sync-harness.ts";
import { sampleRules } from "../support/sync-rules.ts";

const peer = startEndlessServer();
afterAll(() => peer.stop());

describe("a peer whose answer runs on", () => {
  test("a webhook that accepts the page and then runs on: the page counts as sent, and little of the rest is read", async () => {
    peer.streamed = 0;
    const h = makeHarness(`channels:\n  hook: { type: webhook, url: "${peer.url}/in" }\n`);
    const res = await h.job("/jobs/notification", {
      channels: ["hook"],
      alerts: [{ status: "firing", labels: { alertname: "Runaway", severity: "warning" } }],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deliveries: { channel: string; status: string }[] };
    expect(body.deliveries).toMatchObject([{ channel: "hook", status: "sent" }]);
    expect(peer.streamed).toBeLessThan(ENDLESS_BYTES / 4);
  });

  test("a config-sync target that runs on: the job says so, and not all of it is read", async () => {
    peer.streamed = 0;
    const h = makeSyncHarness(`
config_sync:
  targets:
    sidecar:
      kind: prometheus
      delivery: { type: http, url: "${peer.url}/rules.yml", method: POST }
`);
    const res = await h.sync({ operation: "create", rules: sampleRules() });
    const body = (await res.json()) as { error?: { code: string; message: string } };
    // Not retried: the same target would answer the same way.
    expect(res.status).toBe(489);
    expect(body.error?.code).toBe("answer_too_large");
    expect(JSON.stringify(body)).toContain("answered more than 32 MiB (HTTP 200); not read further");
    expect(peer.streamed).toBeLessThan(ENDLESS_BYTES);
  });

  test("Prometheus answering evidence queries on and on: no evidence, and why", async () => {
    peer.streamed = 0;
    const config = loadConfig(
      `${MINIMAL_YAML}ai:\n  evidence: { prometheus_url: "${peer.url}", timeout: 20s }\n`,
      {},
      "test",
    ).ai.evidence as EvidenceConfig;
    const ev = await collectEvidence(
      fetch,
      config,
      {
        status: "firing",
        labels: { alertname: "TargetDown", instance: "x:9100", job: "node" },
        annotations: {},
      } as Alert,
      "en",
      Date.now(),
    );
    expect(ev).toMatchObject({
      status: "unavailable",
      reason: "Prometheus answered more than 8 MiB; not read further",
    });
    expect(peer.streamed).toBeLessThan(ENDLESS_BYTES);
  });
});
