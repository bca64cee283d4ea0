/** Built-in catalogue: Kubernetes, as kube-state-metrics, the kubelet and the control plane report it. */
import { type Entry, t } from "./types.ts";

export const KUBERNETES: Entry[] = [
  {
    names: ["KubePodCrashLooping"],
    family: "kubernetes",
    summary: t(
      "Container {{container}} of pod {{namespace}}/{{pod}} keeps crashing and restarting",
      "Pod {{namespace}}/{{pod}} 的容器 {{container}} 反复崩溃重启",
    ),
    keywords: /crash.?loop|CrashLoopBackOff|restarts/i,
    causes: [
      {
        text: t(
          "The application exits on start-up: bad configuration, a missing secret or environment variable, or an unreachable dependency",
          "应用启动即退出：配置错误、缺少 Secret 或环境变量、依赖服务不可达",
        ),
        confidence: 0.5,
        check: "kubectl -n {{namespace}} logs {{pod}} -c {{container}} --previous --tail=50",
        hint: /config|secret|env|connection refused|dependency/i,
      },
      {
        text: t(
          "The container is OOMKilled: its memory limit is below what it needs",
          "容器被 OOMKilled：内存限制低于实际需求",
        ),
        confidence: 0.3,
        check:
          "kubectl -n {{namespace}} get pod {{pod}} -o jsonpath='{.status.containerStatuses[*].lastState.terminated.reason}'",
        hint: /oom/i,
      },
      {
        text: t(
          "The liveness probe fails (too strict, or the app starts slower than the probe allows)",
          "存活探针失败（探针过严，或应用启动慢于探针允许的时间）",
        ),
        confidence: 0.2,
        check: "kubectl -n {{namespace}} describe pod {{pod}} | grep -A5 -i liveness",
        hint: /liveness|probe/i,
      },
    ],
    steps: [
      {
        text: t("Read the crashed container's last logs", "查看崩溃容器的上一次日志"),
        command: "kubectl -n {{namespace}} logs {{pod}} -c {{container}} --previous --tail=100",
        risk: "low",
      },
      {
        text: t("See the exit reason, exit code and recent events", "查看退出原因、退出码与最近事件"),
        command: "kubectl -n {{namespace}} describe pod {{pod}}",
        risk: "low",
      },
      {
        text: t("Check whether a recent rollout introduced it", "确认是否由最近的发布引起"),
        command: "kubectl -n {{namespace}} rollout history deployment/{{deployment}}",
        risk: "low",
      },
      {
        text: t(
          "Roll back the last rollout, or fix the config/secret and let the pod restart",
          "回滚最近的发布，或修复配置/Secret 后让 Pod 重启",
        ),
        command: "kubectl -n {{namespace}} rollout undo deployment/{{deployment}}",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeContainerWaiting", "KubePodImagePullBackOff", "KubeContainerImagePullBackOff"],
    family: "kubernetes",
    summary: t(
      "Container {{container}} of pod {{namespace}}/{{pod}} is stuck waiting to start",
      "Pod {{namespace}}/{{pod}} 的容器 {{container}} 一直处于等待状态",
    ),
    keywords: /ImagePull|ErrImagePull|container.?waiting|ContainerCreating/i,
    causes: [
      {
        text: t(
          "The image cannot be pulled (wrong tag, missing pull secret, registry down or rate-limited)",
          "镜像无法拉取（标签错误、缺少拉取凭据、镜像仓库故障或限流）",
        ),
        confidence: 0.55,
        check:
          "kubectl -n {{namespace}} get pod {{pod}} -o jsonpath='{.status.containerStatuses[*].state.waiting}'",
        hint: /image|pull|registry/i,
      },
      {
        text: t(
          "A volume, ConfigMap or Secret it mounts does not exist or cannot attach",
          "其挂载的卷、ConfigMap 或 Secret 不存在或无法挂载",
        ),
        confidence: 0.3,
        check: "kubectl -n {{namespace}} get events --field-selector involvedObject.name={{pod}}",
        hint: /volume|mount|configmap|secret/i,
      },
    ],
    steps: [
      {
        text: t("Read the waiting reason and the pod's events", "查看等待原因与 Pod 事件"),
        command: "kubectl -n {{namespace}} describe pod {{pod}}",
        risk: "low",
      },
      {
        text: t(
          "Fix the image reference or pull secret, then let the pod retry",
          "修正镜像地址或拉取凭据，然后让 Pod 重试",
        ),
        command: "kubectl -n {{namespace}} delete pod {{pod}}",
        risk: "low",
      },
    ],
  },
  {
    names: ["KubePodNotReady"],
    family: "kubernetes",
    summary: t(
      "Pod {{namespace}}/{{pod}} has not been ready for a while",
      "Pod {{namespace}}/{{pod}} 长时间未就绪",
    ),
    keywords: /pod.?not.?ready/i,
    causes: [
      {
        text: t(
          "The pod cannot be scheduled (not enough CPU/memory, taints, node selectors, PVC not bound)",
          "Pod 无法被调度（CPU/内存不足、污点、节点选择器、PVC 未绑定）",
        ),
        confidence: 0.45,
        check:
          "kubectl -n {{namespace}} get events --field-selector involvedObject.name={{pod}},reason=FailedScheduling",
        hint: /pending|schedul|insufficient/i,
      },
      {
        text: t(
          "The readiness probe fails: the app is up but not healthy",
          "就绪探针失败：应用已启动但不健康",
        ),
        confidence: 0.4,
        check: "kubectl -n {{namespace}} describe pod {{pod}} | grep -A5 -i readiness",
        hint: /readiness|probe/i,
      },
    ],
    steps: [
      {
        text: t("See the phase, conditions and events", "查看阶段、条件与事件"),
        command: "kubectl -n {{namespace}} describe pod {{pod}}",
        risk: "low",
      },
      {
        text: t("Check free capacity on the nodes", "检查节点剩余资源"),
        command: "kubectl describe nodes | grep -A8 'Allocated resources'",
        risk: "low",
      },
      {
        text: t(
          "Free capacity or relax the pod's requests/constraints",
          "释放资源或放宽 Pod 的资源请求/调度约束",
        ),
        command: "kubectl -n {{namespace}} edit deployment {{deployment}}",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "KubeDeploymentReplicasMismatch",
      "KubeDeploymentRolloutStuck",
      "KubeDeploymentGenerationMismatch",
    ],
    family: "kubernetes",
    summary: t(
      "Deployment {{namespace}}/{{deployment}} does not have its desired replicas",
      "Deployment {{namespace}}/{{deployment}} 的副本数未达到期望值",
    ),
    keywords: /deployment.*(replica|rollout|mismatch)/i,
    causes: [
      {
        text: t(
          "A rollout is stuck: new pods crash or never become ready",
          "发布卡住：新 Pod 崩溃或始终无法就绪",
        ),
        confidence: 0.5,
        check: "kubectl -n {{namespace}} rollout status deployment/{{deployment}} --timeout=10s",
      },
      {
        text: t("The cluster has no room for the extra pods", "集群没有足够资源容纳新增 Pod"),
        confidence: 0.3,
        check: 'kube_pod_status_phase{namespace="{{namespace}}",phase="Pending"} == 1',
        hint: /pending|insufficient/i,
      },
    ],
    steps: [
      {
        text: t("See the rollout's state and its ReplicaSets", "查看发布状态及其 ReplicaSet"),
        command: "kubectl -n {{namespace}} describe deployment {{deployment}}",
        risk: "low",
      },
      {
        text: t("Roll back if the new version is broken", "若新版本有问题则回滚"),
        command: "kubectl -n {{namespace}} rollout undo deployment/{{deployment}}",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "KubeStatefulSetReplicasMismatch",
      "KubeStatefulSetUpdateNotRolledOut",
      "KubeStatefulSetGenerationMismatch",
    ],
    family: "kubernetes",
    summary: t(
      "StatefulSet {{namespace}}/{{statefulset}} is not at its desired state",
      "StatefulSet {{namespace}}/{{statefulset}} 未达到期望状态",
    ),
    keywords: /statefulset/i,
    causes: [
      {
        text: t(
          "One ordinal is not ready, which blocks the ordered rollout (often its PVC or its data)",
          "某个序号的 Pod 未就绪，阻塞了有序发布（常因其 PVC 或数据）",
        ),
        confidence: 0.55,
        check: "kubectl -n {{namespace}} get pods -l app={{statefulset}} -o wide",
      },
    ],
    steps: [
      {
        text: t("Find the pod that is not ready", "找出未就绪的 Pod"),
        command: "kubectl -n {{namespace}} rollout status statefulset/{{statefulset}} --timeout=10s",
        risk: "low",
      },
      {
        text: t("Fix or delete that pod so the controller recreates it", "修复或删除该 Pod，让控制器重建"),
        command: "kubectl -n {{namespace}} delete pod <pod>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeDaemonSetRolloutStuck", "KubeDaemonSetNotScheduled", "KubeDaemonSetMisScheduled"],
    family: "kubernetes",
    summary: t(
      "DaemonSet {{namespace}}/{{daemonset}} is not running where it should",
      "DaemonSet {{namespace}}/{{daemonset}} 未在应运行的节点上运行",
    ),
    keywords: /daemonset/i,
    causes: [
      {
        text: t(
          "Some nodes reject its pods (taints without tolerations, no resources) or the new version crashes",
          "部分节点拒绝其 Pod（污点无对应容忍、资源不足）或新版本崩溃",
        ),
        confidence: 0.55,
        check:
          "kubectl -n {{namespace}} get pods -l name={{daemonset}} -o wide --field-selector=status.phase!=Running",
      },
    ],
    steps: [
      {
        text: t("Compare desired, scheduled and ready counts", "比较期望、已调度与就绪数量"),
        command: "kubectl -n {{namespace}} describe daemonset {{daemonset}}",
        risk: "low",
      },
      {
        text: t("Add the missing toleration or roll back the new version", "补充缺失的容忍或回滚新版本"),
        command: "kubectl -n {{namespace}} rollout undo daemonset/{{daemonset}}",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeJobFailed", "KubeJobNotCompleted", "KubeJobCompletion", "KubeCronJobFailed"],
    family: "kubernetes",
    summary: t(
      "Job {{namespace}}/{{job_name}} failed or did not complete",
      "Job {{namespace}}/{{job_name}} 失败或未完成",
    ),
    keywords: /\bjob.?failed|cronjob/i,
    causes: [
      {
        text: t(
          "The job's container exits non-zero (a bug, bad input, a dependency down)",
          "Job 容器以非零码退出（程序缺陷、输入错误、依赖不可用）",
        ),
        confidence: 0.6,
        check: "kubectl -n {{namespace}} logs job/{{job_name}} --tail=100",
      },
      {
        text: t(
          "It hit activeDeadlineSeconds or its backoffLimit",
          "触达 activeDeadlineSeconds 或 backoffLimit",
        ),
        confidence: 0.25,
        check: "kubectl -n {{namespace}} describe job {{job_name}} | grep -i -E 'deadline|backoff'",
        hint: /deadline|backoff/i,
      },
    ],
    steps: [
      {
        text: t("Read the job's logs and events", "查看 Job 日志与事件"),
        command: "kubectl -n {{namespace}} describe job {{job_name}}",
        risk: "low",
      },
      {
        text: t("Fix the cause, delete the failed job and re-run it", "修复原因后删除失败的 Job 并重新运行"),
        command: "kubectl -n {{namespace}} delete job {{job_name}}",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeHpaMaxedOut", "KubeHpaReplicasMismatch"],
    family: "kubernetes",
    summary: t(
      "Autoscaler {{namespace}}/{{horizontalpodautoscaler}} cannot scale as the load needs",
      "自动扩缩容 {{namespace}}/{{horizontalpodautoscaler}} 无法按负载扩缩",
    ),
    keywords: /\bhpa\b|autoscal/i,
    causes: [
      {
        text: t("Load exceeds what maxReplicas can serve", "负载超出 maxReplicas 所能承载的范围"),
        confidence: 0.5,
        check:
          'kube_horizontalpodautoscaler_status_current_replicas{namespace="{{namespace}}"} == kube_horizontalpodautoscaler_spec_max_replicas{namespace="{{namespace}}"}',
      },
      {
        text: t(
          "New replicas cannot be scheduled or the metrics API is missing",
          "新副本无法调度或指标 API 不可用",
        ),
        confidence: 0.3,
        check: "kubectl -n {{namespace}} describe hpa {{horizontalpodautoscaler}}",
        hint: /metric|unable/i,
      },
    ],
    steps: [
      {
        text: t("See the HPA's targets, current metrics and conditions", "查看 HPA 的目标、当前指标与状态"),
        command: "kubectl -n {{namespace}} describe hpa {{horizontalpodautoscaler}}",
        risk: "low",
      },
      {
        text: t("Raise maxReplicas if the cluster has room", "若集群资源充足则调高 maxReplicas"),
        command:
          'kubectl -n {{namespace}} patch hpa {{horizontalpodautoscaler}} -p \'{"spec":{"maxReplicas":<n>}}\'',
        risk: "medium",
      },
    ],
  },
  overcommit("cpu", ["KubeCPUOvercommit", "KubeCPUQuotaOvercommit"], /cpu.*overcommit/i),
  overcommit("memory", ["KubeMemoryOvercommit", "KubeMemoryQuotaOvercommit"], /overcommit/i),
  {
    names: ["KubeQuotaExceeded", "KubeQuotaAlmostFull", "KubeQuotaFullyUsed"],
    family: "kubernetes",
    summary: t("Namespace {{namespace}} is at its resource quota", "命名空间 {{namespace}} 已用尽其资源配额"),
    keywords: /kube.*quota|resource.?quota/i,
    causes: [
      {
        text: t(
          "The namespace runs more than its quota allows; new pods will be refused",
          "命名空间用量超出配额，新 Pod 将被拒绝",
        ),
        confidence: 0.65,
        check: "kubectl -n {{namespace}} describe resourcequota",
      },
    ],
    steps: [
      {
        text: t("See usage against the quota", "查看用量与配额"),
        command: "kubectl -n {{namespace}} describe resourcequota",
        risk: "low",
      },
      {
        text: t("Scale down unused workloads or raise the quota", "缩减闲置负载或提高配额"),
        command: "kubectl -n {{namespace}} edit resourcequota <quota>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubePersistentVolumeFillingUp", "KubePersistentVolumeInodesFillingUp"],
    family: "kubernetes",
    summary: t(
      "Volume {{persistentvolumeclaim}} in {{namespace}} is filling up",
      "命名空间 {{namespace}} 中的卷 {{persistentvolumeclaim}} 空间即将写满",
    ),
    keywords: /persistent.?volume|\bpvc\b/i,
    causes: [
      {
        text: t("The application's data grows faster than the volume", "应用数据增长快于卷容量"),
        confidence: 0.55,
        check:
          'kubelet_volume_stats_available_bytes{namespace="{{namespace}}",persistentvolumeclaim="{{persistentvolumeclaim}}"} / kubelet_volume_stats_capacity_bytes{namespace="{{namespace}}",persistentvolumeclaim="{{persistentvolumeclaim}}"}',
      },
      {
        text: t("Logs, WAL or temporary files are not cleaned up", "日志、WAL 或临时文件未被清理"),
        confidence: 0.3,
        check: "kubectl -n {{namespace}} exec <pod> -- du -sh /data/* ",
      },
    ],
    steps: [
      {
        text: t("Find which pod mounts the claim and what fills it", "找出挂载该卷的 Pod 及占用来源"),
        command:
          "kubectl -n {{namespace}} get pods -o wide | grep -i <app> && kubectl -n {{namespace}} exec <pod> -- df -h",
        risk: "low",
      },
      {
        text: t(
          "Expand the claim (if its StorageClass allows expansion)",
          "扩容该 PVC（需 StorageClass 支持扩容）",
        ),
        command:
          'kubectl -n {{namespace}} patch pvc {{persistentvolumeclaim}} -p \'{"spec":{"resources":{"requests":{"storage":"<size>"}}}}\'',
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeNodeNotReady", "KubeNodeUnreachable", "KubeNodeReadinessFlapping"],
    family: "kubernetes",
    summary: t("Node {{node}} is not ready", "节点 {{node}} 未就绪"),
    keywords: /node.?not.?ready|node.?unreachable/i,
    causes: [
      {
        text: t(
          "The kubelet stopped or lost the API server (network, certificates)",
          "kubelet 停止或与 API Server 失联（网络、证书）",
        ),
        confidence: 0.45,
        check: "ssh {{node}} 'systemctl status kubelet --no-pager; journalctl -u kubelet -n 50 --no-pager'",
      },
      {
        text: t("Node pressure: memory, disk or PID exhaustion", "节点资源压力：内存、磁盘或 PID 耗尽"),
        confidence: 0.35,
        check: "kubectl describe node {{node}} | grep -A10 Conditions",
        hint: /pressure/i,
      },
    ],
    steps: [
      {
        text: t("Read the node's conditions", "查看节点状态条件"),
        command: "kubectl describe node {{node}}",
        risk: "low",
      },
      {
        text: t(
          "Drain the node if it will not recover, then repair or replace it",
          "若无法恢复则驱逐节点上的 Pod，再修复或替换节点",
        ),
        command: "kubectl drain {{node}} --ignore-daemonsets --delete-emptydir-data",
        risk: "high",
      },
    ],
  },
  {
    names: ["KubeletTooManyPods"],
    family: "kubernetes",
    summary: t("Kubelet on {{node}} is near its pod limit", "节点 {{node}} 上的 kubelet 接近 Pod 数量上限"),
    causes: [
      {
        text: t(
          "Many small pods packed on one node (max-pods is 110 by default)",
          "单节点上运行了大量小 Pod（max-pods 默认 110）",
        ),
        confidence: 0.6,
        check: 'count by (node) (kube_pod_info{node="{{node}}"})',
      },
    ],
    steps: [
      {
        text: t("Count pods per node", "统计各节点 Pod 数量"),
        command: "kubectl get pods -A -o wide --field-selector spec.nodeName={{node}} | wc -l",
        risk: "low",
      },
      {
        text: t("Spread pods across nodes or add nodes", "将 Pod 分散到其他节点或增加节点"),
        command: "",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeletDown", "KubeAPIDown", "KubeSchedulerDown", "KubeControllerManagerDown", "KubeProxyDown"],
    family: "kubernetes",
    summary: t(
      "A Kubernetes control-plane component ({{alertname}}) has disappeared from Prometheus",
      "Kubernetes 控制面组件（{{alertname}}）已从 Prometheus 消失",
    ),
    causes: [
      {
        text: t("The component is down or crash-looping", "该组件已停止或反复崩溃"),
        confidence: 0.45,
        check:
          "kubectl -n kube-system get pods -o wide | grep -E 'apiserver|scheduler|controller-manager|proxy'",
      },
      {
        text: t(
          "Prometheus cannot scrape it (TLS, RBAC, a changed port or the ServiceMonitor)",
          "Prometheus 无法抓取它（TLS、RBAC、端口变更或 ServiceMonitor 配置）",
        ),
        confidence: 0.4,
        check: 'up{job=~"kubelet|apiserver|kube-scheduler|kube-controller-manager|kube-proxy"} == 0',
      },
    ],
    steps: [
      {
        text: t("See the scrape error on Prometheus' targets page", "在 Prometheus 目标页查看抓取错误"),
        command:
          "curl -s http://<prometheus>:9090/api/v1/targets | jq '.data.activeTargets[] | select(.health!=\"up\") | {job: .labels.job, lastError}'",
        risk: "low",
      },
      {
        text: t("Check the component itself on its node", "在所在节点检查组件本身"),
        command: "kubectl get --raw='/readyz?verbose'",
        risk: "low",
      },
    ],
  },
  {
    names: ["KubeAPIErrorBudgetBurn", "KubeAPIErrorsHigh", "KubeAPITerminatedRequests"],
    family: "kubernetes",
    summary: t(
      "The Kubernetes API server is failing or slow for too many requests",
      "Kubernetes API Server 的错误或慢请求过多",
    ),
    causes: [
      {
        text: t("etcd is slow or unhealthy", "etcd 变慢或不健康"),
        confidence: 0.4,
        check: "histogram_quantile(0.99, sum by (le) (rate(etcd_request_duration_seconds_bucket[5m])))",
      },
      {
        text: t(
          "A client floods the API (a controller in a loop, a LIST without a cache)",
          "某客户端压垮 API（循环的控制器、无缓存的 LIST）",
        ),
        confidence: 0.35,
        check: "topk(10, sum by (resource, verb, client) (rate(apiserver_request_total[5m])))",
      },
    ],
    steps: [
      {
        text: t("See errors and latency by verb and resource", "按动词和资源查看错误与延迟"),
        command: 'sum by (verb, resource, code) (rate(apiserver_request_total{code=~"5.."}[5m]))',
        risk: "low",
      },
      {
        text: t(
          "Throttle or fix the noisy client (API priority and fairness)",
          "限流或修复异常客户端（API 优先级与公平性）",
        ),
        command: "kubectl get flowschemas,prioritylevelconfigurations",
        risk: "medium",
      },
    ],
  },
  {
    names: ["CPUThrottlingHigh", "ContainerCpuThrottled"],
    family: "kubernetes",
    summary: t(
      "Container {{container}} in {{namespace}}/{{pod}} is heavily CPU-throttled",
      "{{namespace}}/{{pod}} 的容器 {{container}} 被严重限流（CPU throttling）",
    ),
    keywords: /throttl/i,
    causes: [
      {
        text: t("Its CPU limit is below what the workload needs at peak", "其 CPU 限制低于峰值需求"),
        confidence: 0.65,
        check:
          'sum(rate(container_cpu_cfs_throttled_periods_total{namespace="{{namespace}}",pod="{{pod}}",container="{{container}}"}[5m])) / sum(rate(container_cpu_cfs_periods_total{namespace="{{namespace}}",pod="{{pod}}",container="{{container}}"}[5m]))',
      },
    ],
    steps: [
      {
        text: t("Compare CPU usage with the limit", "对比 CPU 用量与限制"),
        command: "kubectl -n {{namespace}} top pod {{pod}} --containers",
        risk: "low",
      },
      {
        text: t("Raise or remove the CPU limit (keep the request)", "调高或移除 CPU 限制（保留 request）"),
        command:
          "kubectl -n {{namespace}} set resources deployment/{{deployment}} -c {{container}} --limits=cpu=<n>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KubeContainerOOMKilled", "KubePodOOMKilled", "ContainerOOMKilled"],
    family: "kubernetes",
    summary: t(
      "Container {{container}} in {{namespace}}/{{pod}} was OOMKilled",
      "{{namespace}}/{{pod}} 的容器 {{container}} 被 OOMKilled",
    ),
    keywords: /oom.?killed/i,
    causes: [
      {
        text: t(
          "Its memory limit is below its working set (or it leaks)",
          "其内存限制低于实际工作集（或存在泄漏）",
        ),
        confidence: 0.7,
        check:
          'max_over_time(container_memory_working_set_bytes{namespace="{{namespace}}",pod="{{pod}}",container="{{container}}"}[1h])',
      },
    ],
    steps: [
      {
        text: t("See memory use against the limit over time", "查看内存用量随时间与限制的对比"),
        command: "kubectl -n {{namespace}} describe pod {{pod}} | grep -A3 -i -E 'limits|last state'",
        risk: "low",
      },
      {
        text: t("Raise the memory limit, or fix the leak", "调高内存限制或修复泄漏"),
        command:
          "kubectl -n {{namespace}} set resources deployment/{{deployment}} -c {{container}} --limits=memory=<size>",
        risk: "medium",
      },
    ],
  },
];

/** CPU or memory requests past what the cluster survives losing a node with: each checks its own resource. */
function overcommit(resource: "cpu" | "memory", names: string[], keywords: RegExp): Entry {
  return {
    names,
    family: "kubernetes",
    summary: t(
      "Cluster resource requests exceed what it can survive losing a node with",
      "集群资源请求量过高，一旦失去一个节点将无法容纳",
    ),
    keywords,
    causes: [
      {
        text: t("Workloads grew without the cluster growing", "工作负载增长而集群未扩容"),
        confidence: 0.6,
        check: `sum(namespace_${resource}:kube_pod_container_resource_requests:sum) / sum(kube_node_status_allocatable{resource="${resource}"})`,
      },
    ],
    steps: [
      {
        text: t("See requests against allocatable per node", "查看各节点请求量与可分配量"),
        command: "kubectl describe nodes | grep -A8 'Allocated resources'",
        risk: "low",
      },
      {
        text: t(
          "Add a node, or lower requests that are set far above real usage",
          "增加节点，或下调远高于实际用量的资源请求",
        ),
        command: "",
        risk: "medium",
      },
    ],
  };
}
