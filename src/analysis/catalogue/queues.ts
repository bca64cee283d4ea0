/** Built-in catalogue: message queues (Kafka via kafka_exporter/JMX, RabbitMQ). */
import { type Entry, t } from "./types.ts";

export const QUEUES: Entry[] = [
  {
    names: [
      "KafkaConsumerGroupLag",
      "KafkaConsumersGroupLag",
      "KafkaConsumerLag",
      "KafkaConsumerGroupLagTooHigh",
    ],
    family: "queue",
    summary: t(
      "Consumer group {{consumergroup}} is falling behind on topic {{topic}}",
      "消费组 {{consumergroup}} 在主题 {{topic}} 上的消费积压",
    ),
    keywords: /consumer.?(group|lag)|kafka.*lag/i,
    causes: [
      {
        text: t(
          "Consumers are slower than producers (slow processing or a slow downstream)",
          "消费速度低于生产速度（处理慢或下游慢）",
        ),
        confidence: 0.5,
        check:
          'sum by (consumergroup, topic) (kafka_consumergroup_lag{consumergroup="{{consumergroup}}",topic="{{topic}}"})',
      },
      {
        text: t("Consumers are down or stuck in rebalances", "消费者已停止或陷入反复重平衡"),
        confidence: 0.35,
        check:
          "kafka-consumer-groups.sh --bootstrap-server <broker>:9092 --describe --group {{consumergroup}}",
        hint: /rebalanc|no active member|stuck/i,
      },
    ],
    steps: [
      {
        text: t("See lag per partition and which members own them", "查看各分区积压及所属消费者"),
        command:
          "kafka-consumer-groups.sh --bootstrap-server <broker>:9092 --describe --group {{consumergroup}}",
        risk: "low",
      },
      {
        text: t("Compare produce and consume rates", "对比生产与消费速率"),
        command: 'sum(rate(kafka_topic_partition_current_offset{topic="{{topic}}"}[5m]))',
        risk: "low",
      },
      {
        text: t(
          "Scale the consumers out (up to the partition count) or fix the slow downstream",
          "扩容消费者（不超过分区数）或修复慢的下游",
        ),
        command: "kubectl -n <namespace> scale deployment/<consumer> --replicas=<n>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KafkaUnderReplicatedPartitions", "KafkaTopicsReplicas", "KafkaIsrShrink"],
    family: "queue",
    summary: t("Kafka has under-replicated partitions", "Kafka 存在副本不足的分区"),
    keywords: /under.?replicated|\bisr\b/i,
    causes: [
      {
        text: t(
          "A broker is down or too slow to follow its leaders (disk, network, GC)",
          "某 broker 宕机或跟不上 leader（磁盘、网络、GC）",
        ),
        confidence: 0.6,
        check: "kafka-topics.sh --bootstrap-server <broker>:9092 --describe --under-replicated-partitions",
      },
    ],
    steps: [
      {
        text: t("List the affected partitions and the missing replicas", "列出受影响分区及缺失副本"),
        command: "kafka-topics.sh --bootstrap-server <broker>:9092 --describe --under-replicated-partitions",
        risk: "low",
      },
      {
        text: t("Bring the lagging broker back; check its disk and GC", "恢复落后的 broker，检查其磁盘与 GC"),
        command: "ssh <broker> 'systemctl status kafka --no-pager'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["KafkaOfflinePartitions", "KafkaNoActiveController", "KafkaBrokerDown", "KafkaBrokersDown"],
    family: "queue",
    summary: t(
      "Kafka partitions are offline or the controller is gone",
      "Kafka 分区离线或没有活动的 controller",
    ),
    keywords: /kafka/i,
    causes: [
      {
        text: t(
          "Brokers holding every replica of some partitions are down",
          "持有某些分区全部副本的 broker 已宕机",
        ),
        confidence: 0.55,
        check: "kafka-topics.sh --bootstrap-server <broker>:9092 --describe --unavailable-partitions",
      },
      {
        text: t(
          "The controller quorum (ZooKeeper or KRaft) lost its majority",
          "控制器仲裁（ZooKeeper 或 KRaft）失去多数",
        ),
        confidence: 0.3,
        check: "sum(kafka_controller_kafkacontroller_activecontrollercount)",
        hint: /controller|zookeeper|kraft/i,
      },
    ],
    steps: [
      {
        text: t("See which brokers are registered", "查看已注册的 broker"),
        command: "kafka-broker-api-versions.sh --bootstrap-server <broker>:9092 | grep id",
        risk: "low",
      },
      {
        text: t(
          "Restart the failed brokers; never enable unclean leader election without accepting data loss",
          "重启故障 broker；除非接受数据丢失，不要开启 unclean leader election",
        ),
        command: "ssh <broker> 'systemctl restart kafka'",
        risk: "high",
      },
    ],
  },
  {
    names: ["RabbitmqDown", "RabbitmqNodeDown", "RabbitmqNodeNotRunning"],
    family: "queue",
    summary: t("RabbitMQ node {{instance}} is down", "RabbitMQ 节点 {{instance}} 已宕机"),
    keywords: /rabbit.*down/i,
    causes: [
      {
        text: t(
          "The node stopped (resource alarm, Erlang crash, disk full)",
          "节点已停止（资源告警、Erlang 崩溃、磁盘写满）",
        ),
        confidence: 0.55,
        check: "ssh {{host}} 'rabbitmq-diagnostics status; journalctl -u rabbitmq-server -n 50 --no-pager'",
      },
      {
        text: t("A network partition split the cluster", "网络分区导致集群分裂"),
        confidence: 0.3,
        check: "rabbitmq-diagnostics cluster_status",
        hint: /partition/i,
      },
    ],
    steps: [
      {
        text: t("Check the node and the cluster status", "检查节点与集群状态"),
        command: "rabbitmq-diagnostics -n rabbit@{{host}} cluster_status",
        risk: "low",
      },
      {
        text: t("Restart the node once the cause is cleared", "排除原因后重启节点"),
        command: "ssh {{host}} 'systemctl restart rabbitmq-server'",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "RabbitmqTooManyUnackMessages",
      "RabbitmqTooManyMessagesInQueue",
      "RabbitmqQueueBacklog",
      "RabbitmqNoConsumer",
    ],
    family: "queue",
    summary: t("RabbitMQ queue {{queue}} is backing up", "RabbitMQ 队列 {{queue}} 消息堆积"),
    keywords: /rabbit/i,
    causes: [
      {
        text: t("Consumers are gone or too slow", "消费者已离线或过慢"),
        confidence: 0.55,
        check: 'rabbitmq_queue_consumers{queue="{{queue}}"}',
        hint: /no consumer|consumer/i,
      },
      {
        text: t(
          "Consumers take messages but never ack them (a bug, or a prefetch too high)",
          "消费者取走消息却不确认（程序缺陷或 prefetch 过大）",
        ),
        confidence: 0.3,
        check: 'rabbitmq_queue_messages_unacked{queue="{{queue}}"}',
        hint: /unack/i,
      },
    ],
    steps: [
      {
        text: t("See ready and unacked counts with their consumers", "查看待投递与未确认消息数及消费者"),
        command:
          "rabbitmqctl list_queues name messages_ready messages_unacknowledged consumers | grep {{queue}}",
        risk: "low",
      },
      {
        text: t("Restart or scale the consumers", "重启或扩容消费者"),
        command: "kubectl -n <namespace> rollout restart deployment/<consumer>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["RabbitmqMemoryHigh", "RabbitmqMemoryAlarm", "RabbitmqDiskAlarm", "RabbitmqFileDescriptorsUsage"],
    family: "queue",
    summary: t(
      "RabbitMQ on {{instance}} is near a resource alarm; publishers will be blocked",
      "{{instance}} 上的 RabbitMQ 接近资源告警，发布者将被阻塞",
    ),
    keywords: /rabbit.*(memory|disk|alarm)/i,
    causes: [
      {
        text: t("Large backlogs held in memory", "大量积压消息占用内存"),
        confidence: 0.55,
        check: "rabbitmq-diagnostics memory_breakdown",
      },
    ],
    steps: [
      {
        text: t("See active alarms and memory use", "查看当前告警与内存用量"),
        command: "rabbitmq-diagnostics alarms && rabbitmq-diagnostics memory_breakdown",
        risk: "low",
      },
      {
        text: t(
          "Drain the backlog (more consumers) or use lazy/quorum queues",
          "消化积压（增加消费者）或改用 lazy/quorum 队列",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
];
