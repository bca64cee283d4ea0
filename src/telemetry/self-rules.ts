/**
 * Prometheus alert rules over the worker's own metrics (`alertagent-worker self-rules`):
 * WorkerDown, HighErrorRate, HighLatency, Backlog (QStash's flow-control wait list, as read
 * by autoscale), DeadLetters — and the `promtool test rules` unit tests that make each one
 * fire and not fire. Pure: returns YAML text.
 */
import { stringify } from "yaml";

export interface SelfRuleOptions {
  /** The Prometheus `job` label the worker is scraped under. @default "alertagent-worker" */
  job?: string;
}

/** The scrape job as the body of a PromQL string (`job="…"`): quotes and backslashes escaped. */
const jobOf = (opts: SelfRuleOptions) => JSON.stringify(opts.job ?? DEFAULT_JOB).slice(1, -1);
export const DEFAULT_JOB = "alertagent-worker";

export function selfRules(opts: SelfRuleOptions = {}) {
  const job = jobOf(opts);
  return {
    groups: [
      {
        name: "alertagent-worker",
        rules: [
          {
            alert: "AlertAgentWorkerDown",
            expr: `up{job="${job}"} == 0`,
            for: "2m",
            labels: { severity: "critical" },
            annotations: {
              summary: "AlertAgent worker {{ $labels.instance }} is down",
              description:
                "Prometheus cannot scrape {{ $labels.instance }}; QStash deliveries to it fail and retry.",
            },
          },
          {
            alert: "AlertAgentHighErrorRate",
            expr: `sum by (instance, family) (rate(alertagent_jobs_total{job="${job}",outcome=~"failed_permanent|failed_transient"}[5m])) / sum by (instance, family) (rate(alertagent_jobs_total{job="${job}",outcome=~"succeeded|failed_permanent|failed_transient"}[5m])) > 0.1`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "AlertAgent {{ $labels.family }} jobs failing on {{ $labels.instance }}",
              description:
                "{{ $value | humanizePercentage }} of {{ $labels.family }} jobs failed over the last 5 minutes.",
            },
          },
          {
            alert: "AlertAgentHighLatency",
            expr: `histogram_quantile(0.95, sum by (le, instance, family) (rate(alertagent_job_duration_seconds_bucket{job="${job}"}[5m]))) > 30`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "AlertAgent {{ $labels.family }} p95 latency is high on {{ $labels.instance }}",
              description: "p95 of {{ $labels.family }} jobs is {{ $value | humanizeDuration }}.",
            },
          },
          {
            alert: "AlertAgentBacklog",
            expr: `max by (key) (alertagent_flow_control_wait_list{job="${job}"}) > 100`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
              summary: "QStash wait list for {{ $labels.key }} keeps growing",
              description:
                "{{ $value }} messages wait behind flow-control key {{ $labels.key }}; parallelism may be pinned at its max.",
            },
          },
          {
            alert: "AlertAgentDeadLetters",
            expr: `sum by (family) (increase(alertagent_dead_letters_total{job="${job}"}[15m])) > 0`,
            labels: { severity: "warning" },
            annotations: {
              summary: "AlertAgent {{ $labels.family }} jobs reached the dead-letter queue",
              description:
                "{{ $value }} {{ $labels.family }} messages were given up by QStash in 15 minutes; see /v1/jobs and the QStash DLQ.",
            },
          },
        ],
      },
    ],
  };
}

export function selfRulesYaml(opts: SelfRuleOptions = {}): string {
  return stringify(selfRules(opts), { lineWidth: 0 });
}

/** `promtool test rules` cases: each rule fires on a bad series and stays quiet on a good one. */
export function selfRulesTestsYaml(ruleFile: string, opts: SelfRuleOptions = {}): string {
  const job = jobOf(opts);
  const l = (extra: string) => `{job="${job}",instance="w1:8081"${extra}}`;
  const tests = [
    {
      interval: "1m",
      input_series: [
        { series: `up${l("")}`, values: "1 1 1 0 0 0 0 0" },
        { series: `up{job="${job}",instance="w2:8081"}`, values: "1x8" },
      ],
      alert_rule_test: [
        { eval_time: "2m", alertname: "AlertAgentWorkerDown", exp_alerts: [] },
        {
          eval_time: "6m",
          alertname: "AlertAgentWorkerDown",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", job: opts.job ?? DEFAULT_JOB, instance: "w1:8081" },
              exp_annotations: {
                summary: "AlertAgent worker w1:8081 is down",
                description: "Prometheus cannot scrape w1:8081; QStash deliveries to it fail and retry.",
              },
            },
          ],
        },
      ],
    },
    {
      interval: "1m",
      input_series: [
        // notification: 50 of 100 fail each minute; analysis: all succeed.
        {
          series: `alertagent_jobs_total${l(',family="notification",outcome="failed_transient"')}`,
          values: "0+50x30",
        },
        {
          series: `alertagent_jobs_total${l(',family="notification",outcome="succeeded"')}`,
          values: "0+50x30",
        },
        { series: `alertagent_jobs_total${l(',family="analysis",outcome="succeeded"')}`, values: "0+100x30" },
        {
          series: `alertagent_jobs_total${l(',family="analysis",outcome="failed_permanent"')}`,
          values: "0x30",
        },
      ],
      alert_rule_test: [
        {
          eval_time: "20m",
          alertname: "AlertAgentHighErrorRate",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", instance: "w1:8081", family: "notification" },
              exp_annotations: {
                summary: "AlertAgent notification jobs failing on w1:8081",
                description: "50% of notification jobs failed over the last 5 minutes.",
              },
            },
          ],
        },
      ],
    },
    {
      interval: "1m",
      input_series: [
        // analysis jobs take ~60 s; notification jobs ~0.1 s.
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="analysis",le="30"')}`,
          values: "0x30",
        },
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="analysis",le="60"')}`,
          values: "0+10x30",
        },
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="analysis",le="+Inf"')}`,
          values: "0+10x30",
        },
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="notification",le="0.1"')}`,
          values: "0+10x30",
        },
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="notification",le="30"')}`,
          values: "0+10x30",
        },
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="notification",le="60"')}`,
          values: "0+10x30",
        },
        {
          series: `alertagent_job_duration_seconds_bucket${l(',family="notification",le="+Inf"')}`,
          values: "0+10x30",
        },
      ],
      alert_rule_test: [
        {
          eval_time: "20m",
          alertname: "AlertAgentHighLatency",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", instance: "w1:8081", family: "analysis" },
              exp_annotations: {
                summary: "AlertAgent analysis p95 latency is high on w1:8081",
                description: "p95 of analysis jobs is 58.5s.",
              },
            },
          ],
        },
      ],
    },
    {
      interval: "1m",
      input_series: [
        { series: `alertagent_flow_control_wait_list${l(',key="aa-analysis"')}`, values: "500x30" },
        { series: `alertagent_flow_control_wait_list${l(',key="aa-notify"')}`, values: "3x30" },
      ],
      alert_rule_test: [
        { eval_time: "10m", alertname: "AlertAgentBacklog", exp_alerts: [] },
        {
          eval_time: "20m",
          alertname: "AlertAgentBacklog",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", key: "aa-analysis" },
              exp_annotations: {
                summary: "QStash wait list for aa-analysis keeps growing",
                description:
                  "500 messages wait behind flow-control key aa-analysis; parallelism may be pinned at its max.",
              },
            },
          ],
        },
      ],
    },
    {
      interval: "1m",
      input_series: [
        {
          series: `alertagent_dead_letters_total${l(',family="notification"')}`,
          values: "0 0 0 0 0 1 1 1 1 1",
        },
        { series: `alertagent_dead_letters_total${l(',family="analysis"')}`, values: "0x10" },
      ],
      alert_rule_test: [
        { eval_time: "4m", alertname: "AlertAgentDeadLetters", exp_alerts: [] },
        {
          eval_time: "8m",
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
  ];
  return stringify({ rule_files: [ruleFile], evaluation_interval: "1m", tests }, { lineWidth: 0 });
}
