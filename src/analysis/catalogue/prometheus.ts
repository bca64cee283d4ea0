/** Built-in catalogue: Prometheus and Alertmanager watching themselves (and their scrape targets). */
import { type Entry, t } from "./types.ts";

export const PROMETHEUS: Entry[] = [
  {
    names: [
      "TargetDown",
      "PrometheusTargetMissing",
      "PrometheusJobMissing",
      "InstanceDown",
      "NodeExporterDown",
      "ExporterDown",
    ],
    family: "prometheus",
    summary: t(
      "Prometheus cannot scrape {{job}} on {{instance}}",
      "Prometheus 无法抓取 {{instance}} 上的 {{job}}",
    ),
    // What is down must be a scrape target: "CephOSDDown" or "HAProxyBackendDown" is the exporter
    // reporting a component down, which this answer would send the on-call away from.
    keywords:
      /\b(instance|target|exporter|host|node|endpoint|service|server|scrape|job)s?\s+(is\s+|are\s+)?down\b|\b(instance|target)\b[^\n;]{0,40}?\bdown\b|target.?missing|\bup\s*(\{|==)|宕机|(实例|目标)[^\n。；;]{0,30}不可用/i,
    causes: [
      {
        text: t("The target process or its host is down", "目标进程或其主机已停止"),
        confidence: 0.5,
        check: 'up{job="{{job}}",instance="{{instance}}"}',
      },
      {
        text: t(
          "Scrape fails: firewall, TLS/auth change, wrong port, or the scrape times out",
          "抓取失败：防火墙、TLS/认证变更、端口错误或抓取超时",
        ),
        confidence: 0.35,
        check: 'scrape_duration_seconds{job="{{job}}",instance="{{instance}}"}',
        hint: /timeout|tls|401|403|refused/i,
      },
    ],
    steps: [
      {
        text: t("Read the scrape error Prometheus recorded", "查看 Prometheus 记录的抓取错误"),
        command:
          "curl -s http://<prometheus>:9090/api/v1/targets | jq '.data.activeTargets[] | select(.labels.instance==\"{{instance}}\") | {health, lastError}'",
        risk: "low",
      },
      {
        text: t("Fetch the metrics endpoint yourself", "手动访问 metrics 端点"),
        command: "curl -s --max-time 10 http://{{instance}}/metrics | head",
        risk: "low",
      },
      {
        text: t("Start the exporter or service again", "重新启动 exporter 或服务"),
        command: "ssh {{host}} 'systemctl restart <exporter>'",
        risk: "medium",
      },
    ],
    // kube-prometheus: the share of a service's targets down, by job, namespace and service.
    lacking: {
      label: "instance",
      having: "namespace",
      // No service named here: a PodMonitor's targets have none.
      summary: t(
        "Prometheus cannot scrape some {{job}} targets in namespace {{namespace}}",
        "Prometheus 无法抓取命名空间 {{namespace}} 中的部分 {{job}} 目标",
      ),
      causes: [
        {
          text: t("The scraped pods are not running or not ready", "被抓取的 Pod 未运行或未就绪"),
          confidence: 0.5,
          check: 'up{job="{{job}}",namespace="{{namespace}}",service="{{service}}"} == 0',
        },
        {
          text: t(
            "Scrape fails: a NetworkPolicy, a TLS/auth change, the ServiceMonitor's port, or the scrape times out",
            "抓取失败：NetworkPolicy、TLS/认证变更、ServiceMonitor 端口配置或抓取超时",
          ),
          confidence: 0.35,
          check: 'scrape_duration_seconds{job="{{job}}",namespace="{{namespace}}",service="{{service}}"}',
          hint: /timeout|tls|401|403|refused|networkpolicy/i,
        },
      ],
      steps: [
        {
          text: t("Read the scrape errors Prometheus recorded", "查看 Prometheus 记录的抓取错误"),
          command:
            'curl -s http://<prometheus>:9090/api/v1/targets | jq \'.data.activeTargets[] | select(.labels.job=="{{job}}" and .health!="up") | {instance: .labels.instance, lastError}\'',
          risk: "low",
        },
        {
          // Not `describe endpoints <service>`: a PodMonitor's targets have no service.
          text: t(
            "See which of the namespace's pods are not running or not ready (STATUS, READY)",
            "查看该命名空间中未运行或未就绪的 Pod（STATUS、READY 列）",
          ),
          command: "kubectl -n {{namespace}} get pods -o wide",
          risk: "low",
        },
        {
          text: t(
            "Restart the workload whose pods do not answer (its controller recreates them)",
            "重启 Pod 无响应的工作负载（由控制器重建）",
          ),
          command: "kubectl -n {{namespace}} rollout restart deployment/<deployment>",
          risk: "medium",
        },
      ],
    },
  },
  {
    names: ["PrometheusConfigurationReloadFailure", "PrometheusConfigReloadFailed", "PrometheusBadConfig"],
    family: "prometheus",
    summary: t(
      "Prometheus {{instance}} failed to reload its configuration",
      "Prometheus {{instance}} 重新加载配置失败",
    ),
    keywords: /config.?reload|reload.?fail/i,
    causes: [
      {
        text: t(
          "An invalid edit to prometheus.yml or a rule file; the old config still runs",
          "prometheus.yml 或规则文件修改有误；仍在使用旧配置",
        ),
        confidence: 0.75,
        check: "promtool check config /etc/prometheus/prometheus.yml",
      },
    ],
    steps: [
      {
        text: t("Validate the configuration and rules", "校验配置与规则文件"),
        command: "promtool check config /etc/prometheus/prometheus.yml",
        risk: "low",
      },
      {
        text: t("Fix the file, then reload", "修正文件后重新加载"),
        command: "curl -X POST http://{{instance}}/-/reload",
        risk: "low",
      },
    ],
  },
  {
    names: ["PrometheusRuleFailures", "PrometheusRuleEvaluationFailures", "PrometheusMissingRuleEvaluations"],
    family: "prometheus",
    summary: t(
      "Prometheus {{instance}} fails or skips rule evaluations",
      "Prometheus {{instance}} 的规则评估失败或被跳过",
    ),
    keywords: /rule.?(eval|fail)/i,
    causes: [
      {
        text: t(
          "A rule's query errors (many-to-many match, duplicate series after a label change)",
          "某条规则的查询出错（多对多匹配、标签变更后出现重复序列）",
        ),
        confidence: 0.5,
        check: "increase(prometheus_rule_evaluation_failures_total[10m]) > 0",
      },
      {
        text: t(
          "Rule groups take longer than their interval (too slow, too many series)",
          "规则组评估耗时超过其间隔（过慢、序列过多）",
        ),
        confidence: 0.35,
        check: "prometheus_rule_group_last_duration_seconds > prometheus_rule_group_interval_seconds",
        hint: /missing|slow|skip/i,
      },
    ],
    steps: [
      {
        text: t("Find the failing rules and their errors", "找出失败的规则及错误"),
        command:
          "curl -s http://{{instance}}/api/v1/rules | jq '.data.groups[].rules[] | select(.health!=\"ok\") | {name, lastError}'",
        risk: "low",
      },
      {
        text: t(
          "Fix the expression (or split the slow group) and reload",
          "修正表达式（或拆分慢规则组）后重新加载",
        ),
        command: "curl -X POST http://{{instance}}/-/reload",
        risk: "low",
      },
    ],
  },
  {
    names: [
      "PrometheusNotConnectedToAlertmanagers",
      "PrometheusErrorSendingAlertsToAnyAlertmanager",
      "PrometheusErrorSendingAlertsToSomeAlertmanagers",
      "PrometheusNotificationQueueRunningFull",
    ],
    family: "prometheus",
    summary: t(
      "Prometheus {{instance}} cannot deliver alerts to Alertmanager",
      "Prometheus {{instance}} 无法将告警发送到 Alertmanager",
    ),
    keywords: /alertmanager.*(connect|send)|notification.?queue/i,
    causes: [
      {
        text: t(
          "Alertmanager is down or unreachable from Prometheus",
          "Alertmanager 已停止或 Prometheus 无法访问",
        ),
        confidence: 0.55,
        check: "prometheus_notifications_alertmanagers_discovered",
      },
      {
        text: t(
          "Alertmanager discovery or the alerting config is wrong",
          "Alertmanager 服务发现或 alerting 配置有误",
        ),
        confidence: 0.3,
        check: "rate(prometheus_notifications_errors_total[5m])",
        hint: /discover|config/i,
      },
    ],
    steps: [
      {
        text: t(
          "See which Alertmanagers Prometheus knows and the send errors",
          "查看 Prometheus 发现的 Alertmanager 与发送错误",
        ),
        command: "curl -s http://{{instance}}/api/v1/alertmanagers | jq .",
        risk: "low",
      },
      {
        text: t(
          "Restore Alertmanager or fix the alerting section and reload",
          "恢复 Alertmanager 或修正 alerting 配置后重新加载",
        ),
        command: "curl -X POST http://{{instance}}/-/reload",
        risk: "low",
      },
    ],
  },
  {
    names: [
      "PrometheusRemoteWriteBehind",
      "PrometheusRemoteStorageFailures",
      "PrometheusRemoteWriteDesiredShards",
    ],
    family: "prometheus",
    summary: t(
      "Prometheus {{instance}} is falling behind on remote write",
      "Prometheus {{instance}} 的 remote write 落后",
    ),
    keywords: /remote.?(write|storage)/i,
    causes: [
      {
        text: t(
          "The remote endpoint is slow, rejecting or rate-limiting writes",
          "远端存储变慢、拒绝或限流写入",
        ),
        confidence: 0.55,
        check: "rate(prometheus_remote_storage_samples_failed_total[5m])",
      },
      {
        text: t("max_shards is too low for the sample rate", "max_shards 对样本速率而言过低"),
        confidence: 0.25,
        check: "prometheus_remote_storage_shards_desired > prometheus_remote_storage_shards_max",
        hint: /shard/i,
      },
    ],
    steps: [
      {
        text: t("See failed and pending samples per remote", "查看各远端失败与待发送样本"),
        command: "prometheus_remote_storage_samples_pending",
        risk: "low",
      },
      {
        text: t(
          "Fix the remote endpoint or raise queue_config.max_shards",
          "修复远端或调高 queue_config.max_shards",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "PrometheusTSDBCompactionsFailing",
      "PrometheusTSDBReloadsFailing",
      "PrometheusTSDBWALCorruptions",
    ],
    family: "prometheus",
    summary: t("Prometheus {{instance}} has TSDB storage errors", "Prometheus {{instance}} 的 TSDB 存储出错"),
    keywords: /tsdb|compaction|\bwal\b/i,
    causes: [
      {
        text: t("The data disk is full or failing", "数据盘写满或故障"),
        confidence: 0.5,
        check: 'node_filesystem_avail_bytes{mountpoint=~"/prometheus|/var/lib/prometheus"}',
        hint: /disk|space|full/i,
      },
      {
        text: t("A corrupted block or WAL segment", "块或 WAL 段损坏"),
        confidence: 0.35,
        check: "promtool tsdb analyze /var/lib/prometheus",
        hint: /corrupt/i,
      },
    ],
    steps: [
      {
        text: t("Read Prometheus' log for the failing block", "查看 Prometheus 日志中失败的块"),
        command: "journalctl -u prometheus -n 100 --no-pager | grep -i -E 'compact|wal|corrupt'",
        risk: "low",
      },
      {
        text: t("Free disk; move the corrupted block aside and restart", "释放磁盘；移走损坏的块后重启"),
        command: "systemctl restart prometheus",
        risk: "high",
      },
    ],
  },
  {
    names: ["PrometheusTooManyRestarts"],
    family: "prometheus",
    summary: t("Prometheus {{instance}} restarts too often", "Prometheus {{instance}} 重启过于频繁"),
    causes: [
      {
        text: t("It runs out of memory (too many series, a heavy query)", "内存耗尽（序列过多、查询过重）"),
        confidence: 0.6,
        check: "prometheus_tsdb_head_series",
      },
    ],
    steps: [
      {
        text: t("See head series and memory over the last day", "查看过去一天的 head 序列数与内存"),
        command: 'max_over_time(process_resident_memory_bytes{job="prometheus"}[1d])',
        risk: "low",
      },
      {
        text: t(
          "Drop high-cardinality labels or give Prometheus more memory",
          "去除高基数标签或为 Prometheus 增加内存",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
  {
    names: ["Watchdog", "DeadMansSwitch", "AlwaysFiring"],
    family: "prometheus",
    summary: t(
      "Watchdog is the always-firing heartbeat of the alerting pipeline: it firing means alerting works",
      "Watchdog 是告警链路的常驻心跳告警：它在触发说明告警链路正常",
    ),
    causes: [
      {
        text: t(
          "Nothing is wrong: this alert exists to prove Prometheus → Alertmanager → receivers work; route it to a dead man's switch, not to people",
          "没有故障：该告警用于证明 Prometheus → Alertmanager → 接收端链路正常；应路由到 dead man's switch，而非通知人员",
        ),
        confidence: 0.9,
        check: 'ALERTS{alertname="Watchdog"}',
      },
    ],
    steps: [
      {
        text: t(
          "Route Watchdog to a heartbeat receiver (or a null receiver)",
          "将 Watchdog 路由到心跳接收端（或空接收端）",
        ),
        command: "amtool config routes test --config.file=alertmanager.yml alertname=Watchdog",
        risk: "low",
      },
    ],
  },
];

export const ALERTMANAGER: Entry[] = [
  {
    names: ["AlertmanagerFailedReload", "AlertmanagerConfigInconsistent"],
    family: "alertmanager",
    summary: t(
      "Alertmanager {{instance}} failed to load its configuration",
      "Alertmanager {{instance}} 加载配置失败",
    ),
    keywords: /alertmanager.*(reload|config)/i,
    causes: [
      {
        text: t(
          "An invalid alertmanager.yml (or replicas running different configs)",
          "alertmanager.yml 无效（或各副本配置不一致）",
        ),
        confidence: 0.75,
        check: "amtool check-config /etc/alertmanager/alertmanager.yml",
      },
    ],
    steps: [
      {
        text: t("Validate the config", "校验配置"),
        command: "amtool check-config /etc/alertmanager/alertmanager.yml",
        risk: "low",
      },
      {
        text: t("Fix it and reload every replica", "修正后重新加载所有副本"),
        command: "curl -X POST http://{{instance}}/-/reload",
        risk: "low",
      },
    ],
  },
  {
    names: [
      "AlertmanagerFailedToSendAlerts",
      "AlertmanagerClusterFailedToSendAlerts",
      "AlertmanagerNotificationFailing",
    ],
    family: "alertmanager",
    summary: t(
      "Alertmanager {{instance}} fails to deliver notifications to {{integration}}",
      "Alertmanager {{instance}} 向 {{integration}} 发送通知失败",
    ),
    keywords: /notification.?fail|failed.?to.?send/i,
    causes: [
      {
        text: t(
          "The receiver rejects the message (webhook down, expired token, robot rate limit or keyword check)",
          "接收端拒绝消息（webhook 故障、令牌过期、机器人限流或关键词校验）",
        ),
        confidence: 0.55,
        check: 'rate(alertmanager_notifications_failed_total{integration="{{integration}}"}[5m])',
      },
      {
        text: t(
          "Network or proxy from Alertmanager to the receiver is blocked",
          "Alertmanager 到接收端的网络或代理被阻断",
        ),
        confidence: 0.3,
        check: "kubectl -n monitoring logs <alertmanager-pod> | grep -i 'notify' | tail",
        hint: /timeout|proxy|dial/i,
      },
    ],
    steps: [
      {
        text: t("Read Alertmanager's notify errors", "查看 Alertmanager 的通知错误日志"),
        command: "journalctl -u alertmanager -n 100 --no-pager | grep -i 'notify retry canceled\\|error'",
        risk: "low",
      },
      {
        text: t("Send a test alert through the same receiver", "通过同一接收端发送测试告警"),
        command:
          "amtool alert add alertname=TestNotification severity=info --alertmanager.url=http://{{instance}}",
        risk: "low",
      },
      {
        text: t("Fix the receiver's URL or credentials and reload", "修正接收端 URL 或凭据后重新加载"),
        command: "curl -X POST http://{{instance}}/-/reload",
        risk: "low",
      },
    ],
  },
  {
    names: ["AlertmanagerMembersInconsistent", "AlertmanagerClusterDown", "AlertmanagerClusterCrashlooping"],
    family: "alertmanager",
    summary: t("The Alertmanager cluster has lost members", "Alertmanager 集群成员丢失"),
    keywords: /alertmanager/i,
    causes: [
      {
        text: t(
          "Peers cannot gossip (port 9094 blocked, wrong --cluster.peer)",
          "成员之间无法 gossip（9094 端口被阻断、--cluster.peer 配置错误）",
        ),
        confidence: 0.5,
        check: "alertmanager_cluster_members",
      },
      {
        text: t("Some replicas are down or restarting", "部分副本宕机或在重启"),
        confidence: 0.35,
        check: 'up{job=~".*alertmanager.*"} == 0',
      },
    ],
    steps: [
      {
        text: t("See the cluster status on each replica", "在每个副本上查看集群状态"),
        command: "curl -s http://{{instance}}/api/v2/status | jq .cluster",
        risk: "low",
      },
      {
        text: t(
          "Open the gossip port between replicas and restart the missing ones",
          "放通副本间的 gossip 端口并重启缺失副本",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
];
