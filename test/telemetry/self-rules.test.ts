import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

  test("the first dead letter after a start fires AlertAgentDeadLetters (its series is scraped at 0 before it)", async () => {
    const h = makeHarness();
    const scrape = async () => {
      const text = await (await h.request("/metrics")).text();
      const line = text
        .split("\n")
        .find((x) => x.startsWith('alertagent_dead_letters_total{family="notification"}'));
      return line === undefined ? "_" : line.split(" ").at(-1);
    };
    // One scrape a minute: two before the dead letter, five after, as promtool's input series.
    const values = [await scrape(), await scrape()];
    expect((await h.job("/jobs/failure", failureCallback("msg_first_dead"))).status).toBe(200);
    for (let i = 0; i < 5; i++) values.push(await scrape());
    const tests = {
      rule_files: ["alertagent-self.rules.yml"],
      tests: [
        {
          interval: "1m",
          input_series: [
            {
              series:
                'alertagent_dead_letters_total{job="alertagent-worker",instance="w1:8081",family="notification"}',
              values: values.join(" "),
            },
          ],
          alert_rule_test: [
            {
              eval_time: "4m",
              alertname: "AlertAgentDeadLetters",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", family: "notification" },
                  exp_annotations: {
                    summary: "AlertAgent notification jobs reached the dead-letter queue",
                    description:
                      "1 notification messages were given up by QStash in 15 minutes; see /v1/jobs and the QStash DLQ.",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "first-dead.yml"), JSON.stringify(tests));
    const r = promtool(["test", "rules", join(dir, "first-dead.yml")]);
    expect(r.out).toContain("SUCCESS");
  });
});
