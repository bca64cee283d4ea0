/** Built-in catalogue: black-box probes (blackbox_exporter: HTTP, TCP, ICMP, DNS). */
import { type Entry, t } from "./types.ts";

export const BLACKBOX: Entry[] = [
  {
    names: ["BlackboxProbeFailed", "ProbeFailed", "EndpointDown", "WebsiteDown", "ServiceUnreachable"],
    family: "blackbox",
    summary: t(
      "Probe of {{instance}} fails: the endpoint is unreachable from the prober",
      "对 {{instance}} 的探测失败：探测端无法访问该端点",
    ),
    keywords: /probe|blackbox|endpoint.?down|unreachable|website|拨测|探测/i,
    causes: [
      {
        text: t("The service behind the endpoint is down", "端点后面的服务已停止"),
        confidence: 0.45,
        check: 'probe_success{instance="{{instance}}"} == 0',
      },
      {
        text: t(
          "DNS, TLS or network path failure between the prober and the target (firewall, expired certificate, DNS change)",
          "探测端与目标之间的 DNS、TLS 或网络路径故障（防火墙、证书过期、DNS 变更）",
        ),
        confidence: 0.35,
        check:
          'probe_dns_lookup_time_seconds{instance="{{instance}}"} and probe_http_ssl{instance="{{instance}}"}',
        hint: /dns|tls|ssl|certificate|timeout|refused/i,
      },
    ],
    steps: [
      {
        text: t(
          "Re-run the probe with debug output from the exporter",
          "通过 exporter 的 debug 模式重新探测",
        ),
        command:
          "curl -s 'http://<blackbox-exporter>:9115/probe?target={{instance}}&module={{module}}&debug=true'",
        risk: "low",
      },
      {
        text: t("Try the endpoint yourself from the prober's network", "在探测端所在网络手动访问该端点"),
        command: "curl -sv --max-time 10 {{instance}} -o /dev/null",
        risk: "low",
      },
      {
        text: t(
          "Restore the service or the network path (DNS record, firewall rule)",
          "恢复服务或网络路径（DNS 记录、防火墙规则）",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
  {
    names: ["BlackboxProbeHttpFailure", "BlackboxProbeHttpStatusCode", "HttpStatusCodeError"],
    family: "blackbox",
    summary: t("{{instance}} answers an unexpected HTTP status", "{{instance}} 返回了非预期的 HTTP 状态码"),
    keywords: /probe.*http|probe_http_status/i,
    causes: [
      {
        text: t(
          "The application returns 5xx (crashing backend, failing dependency)",
          "应用返回 5xx（后端崩溃、依赖失败）",
        ),
        confidence: 0.5,
        check: 'probe_http_status_code{instance="{{instance}}"}',
        hint: /5\d\d|502|503|504|500/,
      },
      {
        text: t(
          "A proxy or load balancer has no healthy backend, or routing changed",
          "代理或负载均衡没有健康后端，或路由被修改",
        ),
        confidence: 0.3,
        check: "curl -sI {{instance}}",
        hint: /502|503|gateway|ingress/i,
      },
    ],
    steps: [
      {
        text: t("See the status code the probe got", "查看探测得到的状态码"),
        command: 'probe_http_status_code{instance="{{instance}}"}',
        risk: "low",
      },
      {
        text: t(
          "Check the backend's logs and the proxy's upstream health",
          "查看后端日志与代理的上游健康状态",
        ),
        command: "kubectl -n <namespace> logs deploy/<backend> --tail=100",
        risk: "low",
      },
    ],
  },
  {
    names: ["BlackboxSlowProbe", "BlackboxProbeSlowHttp", "BlackboxProbeSlowPing", "SlowResponse"],
    family: "blackbox",
    summary: t("Probes of {{instance}} are slow", "对 {{instance}} 的探测响应缓慢"),
    keywords: /probe.*slow|slow.*probe|拨测.*慢/i,
    causes: [
      {
        text: t("The service is overloaded or a dependency behind it is slow", "服务过载或其依赖变慢"),
        confidence: 0.45,
        check: 'probe_http_duration_seconds{instance="{{instance}}"}',
      },
      {
        text: t("The network path is congested or DNS resolution is slow", "网络路径拥塞或 DNS 解析变慢"),
        confidence: 0.3,
        check: 'probe_dns_lookup_time_seconds{instance="{{instance}}"}',
        hint: /dns|network|ping|icmp/i,
      },
    ],
    steps: [
      {
        text: t("Split the time into DNS, connect, TLS and processing", "拆分 DNS、连接、TLS 与处理耗时"),
        command: 'probe_http_duration_seconds{instance="{{instance}}"}',
        risk: "low",
      },
      {
        text: t("Time a request yourself", "手动测量一次请求耗时"),
        command:
          "curl -o /dev/null -s -w 'dns %{time_namelookup} connect %{time_connect} tls %{time_appconnect} total %{time_total}\\n' {{instance}}",
        risk: "low",
      },
    ],
  },
];
