/**
 * An http delivery to a real vmalert through the simplest sidecar a platform team would write (as
 * on Workers, where the worker has no files): it writes what it is sent into vmalert's rules
 * directory and asks vmalert to reload, answering 200 whatever vmalert then makes of the file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PEER_STOP_MS, type Peer, startVmalert } from "../support/peers.ts";
import { makeSyncHarness, type SyncHarness } from "../support/sync-harness.ts";
import { rule } from "../support/sync-rules.ts";

let vm: Peer & { rulesDir: string };
let sidecar: ReturnType<typeof Bun.serve>;
/** verify.url: vmalert behind a proxy that counts the worker's reads of its /metrics (each a Workers subrequest). */
let counting: ReturnType<typeof Bun.serve>;
let metricsReads = 0;
let h: SyncHarness;
const file = () => join(vm.rulesDir, "alertagent.yml");

beforeAll(async () => {
  // Nothing answers the datasource or the notifier: rules load, evaluations fail, which is fine here.
  vm = await startVmalert("http://127.0.0.1:9", "http://127.0.0.1:9");
  sidecar = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      writeFileSync(file(), await req.text());
      await fetch(`${vm.url}/-/reload`, { method: "POST" });
      return new Response("written\n");
    },
  });
  counting = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      if (u.pathname === "/metrics") metricsReads++;
      const r = await fetch(`${vm.url}${u.pathname}${u.search}`, { method: req.method });
      return new Response(await r.arrayBuffer(), {
        status: r.status,
        headers: { "content-type": r.headers.get("content-type") ?? "text/plain" },
      });
    },
  });
  h = makeSyncHarness(`
config_sync:
  targets:
    vm-side:
      kind: vmalert
      delivery: { type: http, url: "http://127.0.0.1:${sidecar.port}/rules", method: PUT }
      omit_fields: [keep_firing_for, eval_offset]
      verify: { url: "http://127.0.0.1:${counting.port}", timeout: 4s }
`);
}, 60_000);

afterAll(async () => {
  sidecar?.stop(true);
  counting?.stop(true);
  await vm?.stop();
}, PEER_STOP_MS);

async function ruleNames(): Promise<string[]> {
  const res = await fetch(`${vm.url}/api/v1/rules`);
  const groups = ((await res.json()) as { data: { groups: { rules: { name: string }[] }[] | null } }).data
    .groups;
  return (groups ?? []).flatMap((g) => g.rules.map((r) => r.name)).sort();
}

describe("http delivery to vmalert through a sidecar", () => {
  test("rules vmalert refuses after the sidecar's 200 are 489 config_refused, and the next sync puts the recorded ones back", async () => {
    const ok = await h.sync({ operation: "create", rules: [rule({ id: "a", name: "AlphaDown" })] });
    expect(ok.status).toBe(200);
    expect(await ruleNames()).toEqual(["AlphaDown"]);
    // A rule only vmalert checks (vmalert-only rules may be MetricsQL): it cannot parse it.
    metricsReads = 0;
    const res = await h.sync({
      operation: "create",
      rules: [rule({ id: "b", name: "BrokenVm", expr: "up ==" })],
    });
    expect(res.status).toBe(489);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("config_refused");
    expect(error.message).toContain("vmalert refused the rule file");
    // Its reload counters were read a few times, backing off, not every 100 ms.
    expect(metricsReads).toBeLessThanOrEqual(8);
    expect(await ruleNames()).toEqual(["AlphaDown"]);
    // The sidecar left the refused file in place; vmalert's next restart would trip on it.
    expect(readFileSync(file(), "utf8")).toContain("BrokenVm");
    // The set did not keep the rule; the next sync delivers the recorded rendering again.
    const next = await h.sync({ operation: "delete", rule_ids: ["b"] });
    expect(next.status).toBe(200);
    expect(readFileSync(file(), "utf8")).not.toContain("BrokenVm");
    expect(await ruleNames()).toEqual(["AlphaDown"]);
  }, 60_000);
});
