import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { selfRulesTestsYaml, selfRulesYaml } from "../../src/telemetry/self-rules.ts";
import { failureCallback, makeHarness } from "../support/harness.ts";

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

  test.each(["process", "store"] as const)(
    "metrics: %s — the first dead letter after a start fires AlertAgentDeadLetters (its series is scraped at 0 before it)",
    async (scope) => {
      const h = makeHarness("", { metrics: scope });
      const scrape = async () => {
        const text = await (await h.request("/metrics")).text();
        const line = text
          .split("\n")
          .find((x) => x.startsWith('alertagent_dead_letters_total{family="notification"}'));
        return line === undefined ? "_" : line.split(" ").at(-1);
      };
      // The shipped unit test of AlertAgentDeadLetters (quiet at 4m, firing at 8m, on a series
      // that rises at 5m), fed the series as the worker really exposes it: one scrape a minute.
      const values = [];
      for (let i = 0; i < 5; i++) values.push(await scrape());
      expect((await h.job("/jobs/failure", failureCallback("msg_first_dead"))).status).toBe(200);
      for (let i = 0; i < 5; i++) values.push(await scrape());
      const tests = parse(selfRulesTestsYaml("alertagent-self.rules.yml"));
      tests.tests = tests.tests.filter((t: { alert_rule_test: { alertname: string }[] }) =>
        t.alert_rule_test.some((a) => a.alertname === "AlertAgentDeadLetters"),
      );
      const notification = tests.tests[0].input_series.find((x: { series: string }) =>
        x.series.includes('family="notification"'),
      );
      notification.values = values.join(" ");
      writeFileSync(join(dir, `first-dead-${scope}.yml`), JSON.stringify(tests));
      const r = promtool(["test", "rules", join(dir, `first-dead-${scope}.yml`)]);
      expect(r.out).toContain("SUCCESS");
    },
  );
});
