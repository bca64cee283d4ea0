import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { renderTarget } from "../../src/sync/render.ts";

describe("config sync can include the worker's own rules", () => {
  test("a target with self_rules gets the alertagent-worker group, and promtool accepts the file", async () => {
    const c = loadConfig(`qstash: { current_signing_key: a, next_signing_key: b }
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/x.yml }, self_rules: true }
    plain: { kind: prometheus, delivery: { type: file, path: /tmp/y.yml } }
`);
    const withSelf = await renderTarget("prom", c.config_sync.targets.prom, [], c);
    const without = await renderTarget("plain", c.config_sync.targets.plain, [], c);
    expect(withSelf.rules).toBe(5);
    expect(without.rules).toBe(0);
    expect(withSelf.content).toContain("AlertAgentWorkerDown");
    if (!Bun.which("promtool")) throw new Error("promtool is missing: apt-get install prometheus");
    const dir = mkdtempSync(join(tmpdir(), "self-sync-"));
    writeFileSync(join(dir, "r.yml"), withSelf.content);
    const p = Bun.spawnSync(["promtool", "check", "rules", join(dir, "r.yml")]);
    expect(p.stdout.toString()).toContain("SUCCESS: 5 rules found");
  });

  test("self_rules: {job} selects the scrape job the worker's metrics come under", async () => {
    const c = loadConfig(`qstash: { current_signing_key: a, next_signing_key: b }
config_sync:
  targets:
    prom: { kind: prometheus, delivery: { type: file, path: /tmp/x.yml }, self_rules: { job: worker } }
`);
    const r = await renderTarget("prom", c.config_sync.targets.prom, [], c);
    expect(r.rules).toBe(5);
    const exprs = (parse(r.content) as { groups: { rules: { expr: string }[] }[] }).groups[0].rules.map(
      (x) => x.expr,
    );
    expect(exprs).toContain('up{job="worker"} == 0');
    expect(exprs.join("\n")).not.toContain("alertagent-worker");
  });
});
