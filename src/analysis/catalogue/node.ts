/** Built-in catalogue: hosts, as node-exporter sees them (CPU, memory, disks, network, clock, systemd). */
import { type Entry, t } from "./types.ts";

export const NODE: Entry[] = [
  {
    names: [
      "HighCPU",
      "NodeHighCPUUsage",
      "HostHighCpuLoad",
      "NodeCPUHighUsage",
      "CPUUsageHigh",
      "HighCpuUsage",
    ],
    family: "node",
    summary: t("CPU on {{host}} is saturated", "{{host}} 的 CPU 使用率持续过高"),
    keywords: /\bcpu\b|cpu_usage|node_cpu|处理器|CPU/i,
    causes: [
      {
        text: t(
          "A runaway or busy process (a batch job, a hot loop, a traffic spike on one service)",
          "某个进程失控或负载突增（批处理任务、死循环、某服务流量激增）",
        ),
        confidence: 0.55,
        check: "topk(5, rate(namedprocess_namegroup_cpu_seconds_total[5m])) or top -b -n1 -o %CPU | head -15",
      },
      {
        text: t(
          "CPU time lost to I/O wait (slow or saturated disks)",
          "CPU 时间耗在 I/O 等待上（磁盘慢或饱和）",
        ),
        confidence: 0.25,
        check:
          'avg by (instance) (rate(node_cpu_seconds_total{instance="{{instance}}",mode="iowait"}[5m])) > 0.2',
        hint: /iowait|i\/o|disk/i,
      },
      {
        text: t(
          "CPU stolen by the hypervisor (noisy neighbour on a VM)",
          "CPU 被虚拟化宿主机抢占（同宿主机的其他虚拟机争抢）",
        ),
        confidence: 0.15,
        check:
          'avg by (instance) (rate(node_cpu_seconds_total{instance="{{instance}}",mode="steal"}[5m])) > 0.1',
        hint: /steal|vm|virtual/i,
      },
    ],
    steps: [
      {
        text: t("See which CPU modes are busy", "查看各 CPU 模式的占用"),
        command: 'sum by (mode) (rate(node_cpu_seconds_total{instance="{{instance}}",mode!="idle"}[5m]))',
        risk: "low",
      },
      {
        text: t("Find the processes using the CPU", "找出占用 CPU 的进程"),
        command: "ssh {{host}} 'top -b -n1 -o %CPU | head -20'",
        risk: "low",
      },
      {
        text: t(
          "Throttle, reschedule or stop the offending process; scale the service out if the load is legitimate",
          "限制、迁移或停止异常进程；若负载正常增长则扩容该服务",
        ),
        command: "ssh {{host}} 'renice +10 -p <pid>'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["NodeLoadHigh", "NodeSystemSaturation", "HostHighLoad", "HighLoad"],
    family: "node",
    summary: t("Load on {{host}} exceeds its CPU count", "{{host}} 的系统负载超过 CPU 核数"),
    keywords: /\bload(avg)?\b|node_load|负载/i,
    causes: [
      {
        text: t(
          "More runnable threads than cores (CPU-bound work)",
          "可运行线程多于 CPU 核数（CPU 密集型负载）",
        ),
        confidence: 0.5,
        check:
          'node_load1{instance="{{instance}}"} / count by (instance) (node_cpu_seconds_total{instance="{{instance}}",mode="idle"})',
      },
      {
        text: t(
          "Processes stuck in uninterruptible I/O (state D), often a hung NFS mount or failing disk",
          "进程卡在不可中断的 I/O 状态（D 状态），常见于 NFS 挂起或磁盘故障",
        ),
        confidence: 0.35,
        check: "ssh {{host}} 'ps -eo state,pid,cmd | grep \"^D\"'",
        hint: /nfs|hung|blocked|D state/i,
      },
    ],
    steps: [
      {
        text: t("Count processes by state", "按状态统计进程"),
        command: "ssh {{host}} 'ps -eo state | sort | uniq -c'",
        risk: "low",
      },
      {
        text: t("Check disk latency next to the load", "同时查看磁盘延迟"),
        command: 'rate(node_disk_io_time_seconds_total{instance="{{instance}}"}[5m])',
        risk: "low",
      },
      {
        text: t("Remove the blocked mount or move work off the host", "卸载卡住的挂载点，或将负载迁出该主机"),
        command: "ssh {{host}} 'umount -l <mountpoint>'",
        risk: "high",
      },
    ],
  },
  {
    names: [
      "NodeMemoryHighUtilization",
      "HostOutOfMemory",
      "NodeMemoryLow",
      "HighMemoryUsage",
      "NodeMemoryMajorPagesFaults",
    ],
    family: "node",
    summary: t("{{host}} is running out of memory", "{{host}} 内存即将耗尽"),
    keywords: /memory|\bmem\b|node_memory|内存/i,
    causes: [
      {
        text: t(
          "A process grows without bound (memory leak) or a cache is sized too large",
          "某进程内存持续增长（内存泄漏）或缓存配置过大",
        ),
        confidence: 0.5,
        check: "ssh {{host}} 'ps -eo pid,rss,cmd --sort=-rss | head -10'",
        hint: /leak|grow/i,
      },
      {
        text: t("More workloads than the host was sized for", "主机上的负载超出其规格"),
        confidence: 0.3,
        check:
          'node_memory_MemAvailable_bytes{instance="{{instance}}"} / node_memory_MemTotal_bytes{instance="{{instance}}"}',
      },
    ],
    steps: [
      {
        text: t("Find the largest processes", "找出内存占用最大的进程"),
        command: "ssh {{host}} 'ps -eo pid,rss,cmd --sort=-rss | head -10'",
        risk: "low",
      },
      {
        text: t("Look for recent OOM kills", "检查最近的 OOM kill"),
        command: "ssh {{host}} 'dmesg -T | grep -i -E \"killed process|out of memory\" | tail'",
        risk: "low",
      },
      {
        text: t(
          "Restart the leaking service or cap its memory; add memory if usage is legitimate",
          "重启泄漏的服务或限制其内存；若用量正常则扩充内存",
        ),
        command: "ssh {{host}} 'systemctl restart <service>'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["HostOomKillDetected", "NodeOOMKill", "OOMKillDetected"],
    family: "node",
    summary: t(
      "The kernel on {{host}} killed a process for lack of memory",
      "{{host}} 的内核因内存不足杀死了进程",
    ),
    keywords: /\boom\b|oom_kill/i,
    causes: [
      {
        text: t("A process exceeded the memory available to it", "某进程使用的内存超过了可用内存"),
        confidence: 0.6,
        check: 'increase(node_vmstat_oom_kill{instance="{{instance}}"}[1h])',
      },
      {
        text: t("A cgroup memory limit set too low for the workload", "cgroup 内存限制对该负载而言过低"),
        confidence: 0.3,
        check: "ssh {{host}} 'journalctl -k --since -1h | grep -i \"memory cgroup out of memory\"'",
        hint: /cgroup|limit/i,
      },
    ],
    steps: [
      {
        text: t("See which process was killed", "查看被杀死的进程"),
        command: "ssh {{host}} 'journalctl -k --since -2h | grep -i -A2 \"killed process\"'",
        risk: "low",
      },
      {
        text: t(
          "Raise the limit or fix the leak, then restart the killed service",
          "提高内存限制或修复泄漏，然后重启被杀的服务",
        ),
        command: "ssh {{host}} 'systemctl status <service>'",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "NodeFilesystemSpaceFillingUp",
      "NodeFilesystemAlmostOutOfSpace",
      "HostOutOfDiskSpace",
      "DiskAlmostFull",
      "HostDiskWillFillIn24Hours",
      "DiskSpaceLow",
      "DiskFull",
    ],
    family: "node",
    summary: t(
      "Filesystem {{mountpoint}} on {{host}} is filling up",
      "{{host}} 上的文件系统 {{mountpoint}} 空间即将写满",
    ),
    keywords: /disk|filesystem|node_filesystem_avail|磁盘|空间|分区/i,
    causes: [
      {
        text: t("Logs or temporary files growing without rotation", "日志或临时文件持续增长且未轮转"),
        confidence: 0.45,
        check: "ssh {{host}} 'du -xh {{mountpoint}} --max-depth=2 2>/dev/null | sort -rh | head -15'",
        hint: /log|日志/i,
      },
      {
        text: t(
          "Data growth (database, queue, images) outpacing capacity",
          "数据增长（数据库、队列、镜像）超过容量",
        ),
        confidence: 0.3,
        check:
          'predict_linear(node_filesystem_avail_bytes{instance="{{instance}}",mountpoint="{{mountpoint}}"}[6h], 24*3600) < 0',
        hint: /predict|fill|will run out|写满/i,
      },
      {
        text: t("Deleted files still held open by a process", "已删除的文件仍被进程占用"),
        confidence: 0.15,
        check: "ssh {{host}} 'lsof +L1 2>/dev/null | head'",
      },
    ],
    steps: [
      {
        text: t("See free space and the growth trend", "查看剩余空间与增长趋势"),
        command:
          'node_filesystem_avail_bytes{instance="{{instance}}",mountpoint="{{mountpoint}}"} / node_filesystem_size_bytes{instance="{{instance}}",mountpoint="{{mountpoint}}"}',
        risk: "low",
      },
      {
        text: t("Find the largest directories", "找出占用最大的目录"),
        command: "ssh {{host}} 'du -xh {{mountpoint}} --max-depth=2 2>/dev/null | sort -rh | head -15'",
        risk: "low",
      },
      {
        text: t(
          "Clean old logs and caches (journald, package caches)",
          "清理旧日志与缓存（journald、包缓存）",
        ),
        command: "ssh {{host}} 'journalctl --vacuum-size=500M && apt-get clean'",
        risk: "medium",
      },
      {
        text: t("Grow the volume if the data is needed", "如数据需要保留则扩容卷"),
        command: "ssh {{host}} 'resize2fs {{device}}'",
        risk: "high",
      },
    ],
  },
  {
    names: ["NodeFilesystemAlmostOutOfFiles", "NodeFilesystemFilesFillingUp", "HostOutOfInodes"],
    family: "node",
    summary: t(
      "Filesystem {{mountpoint}} on {{host}} is running out of inodes",
      "{{host}} 上的文件系统 {{mountpoint}} inode 即将耗尽",
    ),
    keywords: /inode/i,
    causes: [
      {
        text: t(
          "Millions of small files (session files, cache entries, mail queue)",
          "大量小文件（会话文件、缓存条目、邮件队列）",
        ),
        confidence: 0.7,
        check:
          'ssh {{host}} \'for d in {{mountpoint}}/*; do echo "$(find "$d" -xdev | wc -l) $d"; done | sort -rn | head\'',
      },
    ],
    steps: [
      {
        text: t("Count inodes per directory", "统计各目录 inode 数量"),
        command: "ssh {{host}} 'df -i {{mountpoint}}'",
        risk: "low",
      },
      {
        text: t(
          "Delete or archive the small files; fix what creates them",
          "删除或归档小文件，并修复产生它们的程序",
        ),
        command: "ssh {{host}} 'find <dir> -type f -mtime +7 -delete'",
        risk: "high",
      },
    ],
  },
  {
    names: [
      "NodeDiskIOSaturation",
      "HostUnusualDiskIo",
      "HostUnusualDiskWriteLatency",
      "HostUnusualDiskReadLatency",
    ],
    family: "node",
    summary: t("Disk {{device}} on {{host}} is saturated", "{{host}} 的磁盘 {{device}} I/O 饱和"),
    keywords: /disk.?io|iops|io_time|i\/o|磁盘.?io/i,
    causes: [
      {
        text: t(
          "A process doing heavy reads or writes (backup, compaction, reindex)",
          "某进程大量读写（备份、压缩、重建索引）",
        ),
        confidence: 0.5,
        check: "ssh {{host}} 'iotop -b -o -n 3 | head -20'",
        hint: /backup|compaction|备份/i,
      },
      {
        text: t(
          "A failing or throttled disk (cloud volume burst credits spent)",
          "磁盘故障或被限速（云盘突发额度用尽）",
        ),
        confidence: 0.3,
        check: 'rate(node_disk_io_time_weighted_seconds_total{instance="{{instance}}"}[5m])',
      },
    ],
    steps: [
      {
        text: t("See per-device utilisation and latency", "查看各设备利用率与延迟"),
        command: "ssh {{host}} 'iostat -x 1 5'",
        risk: "low",
      },
      {
        text: t("Check the disk's health", "检查磁盘健康状况"),
        command: "ssh {{host}} 'smartctl -H /dev/{{device}}'",
        risk: "low",
      },
      {
        text: t(
          "Move the heavy job to off-peak hours or a faster volume",
          "将重 I/O 任务移到低峰期或更快的卷",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "NodeNetworkReceiveErrs",
      "NodeNetworkTransmitErrs",
      "HostNetworkReceiveErrors",
      "HostNetworkTransmitErrors",
    ],
    family: "node",
    summary: t(
      "Interface {{device}} on {{host}} reports network errors",
      "{{host}} 的网卡 {{device}} 出现网络错误",
    ),
    keywords: /network|\bnic\b|packet|网络|丢包/i,
    causes: [
      {
        text: t("A faulty cable, transceiver or switch port", "网线、光模块或交换机端口故障"),
        confidence: 0.45,
        check: "ssh {{host}} 'ethtool -S {{device}} | grep -i -E \"err|crc|drop\"'",
      },
      {
        text: t(
          "Ring buffers too small for the traffic (drops under load)",
          "网卡环形缓冲区过小，高负载时丢包",
        ),
        confidence: 0.3,
        check: "ssh {{host}} 'ethtool -g {{device}}'",
        hint: /drop|丢/i,
      },
    ],
    steps: [
      {
        text: t("See the error rate per interface", "查看各网卡错误速率"),
        command: 'rate(node_network_receive_errs_total{instance="{{instance}}"}[5m])',
        risk: "low",
      },
      {
        text: t("Read the interface counters", "读取网卡计数器"),
        command: "ssh {{host}} 'ip -s link show {{device}}'",
        risk: "low",
      },
      {
        text: t("Raise the ring buffer or replace the cable/port", "调大环形缓冲区或更换网线/端口"),
        command: "ssh {{host}} 'ethtool -G {{device}} rx 4096'",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "NodeClockNotSynchronising",
      "NodeClockSkewDetected",
      "HostClockSkew",
      "HostClockNotSynchronising",
    ],
    family: "node",
    summary: t("The clock on {{host}} is not synchronised", "{{host}} 的时钟未同步"),
    keywords: /clock|ntp|chrony|time.?sync|时钟|时间同步/i,
    causes: [
      {
        text: t(
          "The NTP/chrony daemon is stopped or cannot reach its servers",
          "NTP/chrony 服务已停止或无法连接时间服务器",
        ),
        confidence: 0.7,
        check: "ssh {{host}} 'chronyc tracking || timedatectl timesync-status'",
      },
    ],
    steps: [
      {
        text: t("Check the offset and sync state", "检查时间偏移与同步状态"),
        command: 'node_timex_offset_seconds{instance="{{instance}}"}',
        risk: "low",
      },
      {
        text: t(
          "Restart the time daemon and verify it reaches its servers",
          "重启时间同步服务并确认能连到服务器",
        ),
        command: "ssh {{host}} 'systemctl restart chronyd && chronyc sources -v'",
        risk: "low",
      },
    ],
  },
  {
    names: ["NodeSystemdServiceFailed", "HostSystemdServiceCrashed", "SystemdUnitFailed"],
    family: "node",
    summary: t("Systemd unit {{name}} failed on {{host}}", "{{host}} 上的 systemd 单元 {{name}} 失败"),
    keywords: /systemd|unit failed/i,
    causes: [
      {
        text: t(
          "The service exits on start (bad config, missing dependency)",
          "服务启动即退出（配置错误、依赖缺失）",
        ),
        confidence: 0.6,
        check: "ssh {{host}} 'journalctl -u {{name}} -n 50 --no-pager'",
      },
    ],
    steps: [
      {
        text: t("Read why the unit failed", "查看单元失败原因"),
        command: "ssh {{host}} 'systemctl status {{name}} --no-pager'",
        risk: "low",
      },
      {
        text: t("Fix the cause, then restart the unit", "修复原因后重启单元"),
        command: "ssh {{host}} 'systemctl restart {{name}}'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["NodeFileDescriptorLimit", "HostFileDescriptorsExhausted"],
    family: "node",
    summary: t("{{host}} is close to its kernel file-descriptor limit", "{{host}} 的文件描述符接近内核上限"),
    keywords: /file.?descriptor|\bfd\b|filefd|文件描述符|句柄/i,
    causes: [
      {
        text: t("A process leaks sockets or file handles", "某进程泄漏 socket 或文件句柄"),
        confidence: 0.6,
        check:
          "ssh {{host}} 'for p in /proc/[0-9]*; do echo \"$(ls $p/fd 2>/dev/null | wc -l) $(cat $p/comm)\"; done | sort -rn | head'",
      },
    ],
    steps: [
      {
        text: t("See allocated versus maximum descriptors", "查看已分配与最大文件描述符"),
        command:
          'node_filefd_allocated{instance="{{instance}}"} / node_filefd_maximum{instance="{{instance}}"}',
        risk: "low",
      },
      {
        text: t(
          "Restart the leaking process; raise fs.file-max only if usage is legitimate",
          "重启泄漏的进程；仅在用量合理时提高 fs.file-max",
        ),
        command: "ssh {{host}} 'sysctl -w fs.file-max=2097152'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["NodeRAIDDegraded", "NodeRAIDDiskFailure", "HostRaidArrayGotInactive", "HostRaidDiskFailure"],
    family: "node",
    summary: t("A RAID array on {{host}} is degraded", "{{host}} 的 RAID 阵列已降级"),
    keywords: /raid|md_disks/i,
    causes: [
      {
        text: t("A member disk failed or dropped out of the array", "阵列中有成员磁盘故障或掉线"),
        confidence: 0.75,
        check: "ssh {{host}} 'cat /proc/mdstat && mdadm --detail /dev/{{device}}'",
      },
    ],
    steps: [
      {
        text: t("Identify the failed member", "确认故障成员盘"),
        command: "ssh {{host}} 'mdadm --detail /dev/{{device}}'",
        risk: "low",
      },
      {
        text: t("Replace the disk and re-add it to the array", "更换磁盘并重新加入阵列"),
        command: "ssh {{host}} 'mdadm --manage /dev/{{device}} --add /dev/<new-disk>'",
        risk: "high",
      },
    ],
  },
  {
    names: ["NodeHighNumberConntrackEntriesUsed", "HostConntrackLimit"],
    family: "node",
    summary: t("The conntrack table on {{host}} is nearly full", "{{host}} 的 conntrack 表即将写满"),
    keywords: /conntrack|nf_conntrack/i,
    causes: [
      {
        text: t(
          "Many short-lived connections (no keep-alive, a connection storm, a SYN flood)",
          "大量短连接（未启用 keep-alive、连接风暴、SYN 洪泛）",
        ),
        confidence: 0.6,
        check:
          "ssh {{host}} 'conntrack -S; conntrack -L 2>/dev/null | awk \"{print \\$3}\" | sort | uniq -c'",
      },
    ],
    steps: [
      {
        text: t("See usage against the limit", "查看使用量与上限"),
        command:
          'node_nf_conntrack_entries{instance="{{instance}}"} / node_nf_conntrack_entries_limit{instance="{{instance}}"}',
        risk: "low",
      },
      {
        text: t(
          "Raise nf_conntrack_max and enable keep-alive in the clients",
          "调大 nf_conntrack_max，并让客户端启用 keep-alive",
        ),
        command: "ssh {{host}} 'sysctl -w net.netfilter.nf_conntrack_max=524288'",
        risk: "medium",
      },
    ],
  },
];
