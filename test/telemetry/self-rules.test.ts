import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfRulesTestsYaml, selfRulesYaml } from "../../src/telemetry/self-rules.ts";

function promtool(args: string[]) {
  if (!Bun.which("promtool"))
    throw new Error("promtool is missing: apt-get install prometheus (scripts/test.sh installs it)");
  const p = Bun.spawnSync(["promtool", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: `${p.stdout.toString()}${p.stderr.toString()}` };
}

describe("self-rules: alert rules over the worker's own metrics", () => {
  const dir = mkdtempSync(join(tmpdir(), "self-rules-"));
  const rules = join(dir, "alertagent-self.rules.yml");
  writeFileSync(rules, selfRulesYaml());
  writeFileSync(join(dir, "tests.yml"), selfRulesTestsYaml("alertagent-self.rules.yml"));

  test("names the five rules", () => {
    for (const name of [
      "AlertAgentWorkerDown",
      "AlertAgentHighErrorRate",
      "AlertAgentHighLatency",
      "AlertAgentBacklog",
      "AlertAgentDeadLetters",
    ]) {
      expect(selfRulesYaml()).toContain(`alert: ${name}`);
    }
  });

  test("promtool check rules accepts them", () => {
    const r = promtool(["check", "rules", rules]);
    expect(r.out).toContain("SUCCESS: 5 rules found");
    expect(r.code).toBe(0);
  });

  test("promtool test rules: each fires on a bad series and stays quiet on a good one", () => {
    const r = promtool(["test", "rules", join(dir, "tests.yml")]);
    expect(r.out).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });
});
