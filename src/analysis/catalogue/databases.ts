/** Built-in catalogue: databases (MySQL, PostgreSQL, Redis, MongoDB, Elasticsearch exporters). */
import { type Entry, t } from "./types.ts";

export const DATABASES: Entry[] = [
  {
    names: ["MysqlDown", "MySQLDown", "MysqlInstanceDown"],
    family: "database",
    summary: t("MySQL on {{instance}} is down", "{{instance}} 上的 MySQL 已宕机"),
    keywords: /mysql.*down|mysql_up/i,
    causes: [
      {
        text: t(
          "mysqld stopped or crashed (OOM, full disk, corrupted tables)",
          "mysqld 停止或崩溃（OOM、磁盘写满、表损坏）",
        ),
        confidence: 0.55,
        check: "ssh {{host}} 'systemctl status mysql --no-pager; tail -50 /var/log/mysql/error.log'",
      },
      {
        text: t(
          "mysqld_exporter cannot log in (password changed, grants missing)",
          "mysqld_exporter 无法登录（密码变更、缺少授权）",
        ),
        confidence: 0.25,
        check: 'mysql_up{instance="{{instance}}"}',
        hint: /access denied|exporter/i,
      },
    ],
    steps: [
      {
        text: t("Check the server process and its error log", "检查服务进程与错误日志"),
        command: "ssh {{host}} 'systemctl status mysql --no-pager; tail -50 /var/log/mysql/error.log'",
        risk: "low",
      },
      {
        text: t(
          "Free disk or memory if that stopped it, then start it",
          "如因磁盘或内存不足而停止，释放后再启动",
        ),
        command: "ssh {{host}} 'systemctl start mysql'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["MysqlTooManyConnections", "MySQLTooManyConnections", "MysqlHighThreadsRunning"],
    family: "database",
    summary: t(
      "MySQL on {{instance}} is close to max_connections",
      "{{instance}} 上的 MySQL 连接数接近 max_connections",
    ),
    keywords: /mysql.*connection|mysql.*threads/i,
    causes: [
      {
        text: t(
          "Slow queries or lock waits hold connections open, so clients keep opening more",
          "慢查询或锁等待占住连接，客户端不断新建连接",
        ),
        confidence: 0.5,
        check:
          'mysql -e "SELECT command, state, COUNT(*) FROM information_schema.processlist GROUP BY 1,2 ORDER BY 3 DESC"',
        hint: /slow|lock/i,
      },
      {
        text: t(
          "A client without a connection pool, or pools sized too large",
          "客户端未使用连接池，或连接池过大",
        ),
        confidence: 0.35,
        check:
          'mysql -e "SELECT user, host, COUNT(*) FROM information_schema.processlist GROUP BY 1,2 ORDER BY 3 DESC LIMIT 10"',
      },
    ],
    steps: [
      {
        text: t("See connections in use against the limit", "查看已用连接数与上限"),
        command:
          'mysql_global_status_threads_connected{instance="{{instance}}"} / mysql_global_variables_max_connections{instance="{{instance}}"}',
        risk: "low",
      },
      {
        text: t("Find who holds the connections and what they run", "找出占用连接的客户端及其语句"),
        command: "mysql -e 'SHOW FULL PROCESSLIST'",
        risk: "low",
      },
      {
        text: t(
          "Kill runaway queries; cap the offending client's pool",
          "终止失控查询，并限制相关客户端的连接池",
        ),
        command: "mysql -e 'KILL <id>'",
        risk: "high",
      },
    ],
  },
  {
    names: [
      "MysqlSlaveIoThreadNotRunning",
      "MysqlSlaveSqlThreadNotRunning",
      "MysqlSlaveReplicationLag",
      "MySQLReplicationLag",
      "MysqlReplicationLag",
    ],
    family: "database",
    summary: t(
      "MySQL replication on {{instance}} is broken or lagging",
      "{{instance}} 上的 MySQL 复制中断或延迟",
    ),
    keywords: /mysql.*(slave|replica|replication)/i,
    causes: [
      {
        text: t(
          "The SQL thread stopped on an error (duplicate key, missing row) or the IO thread lost the primary",
          "SQL 线程因错误停止（主键冲突、行缺失），或 IO 线程与主库断开",
        ),
        confidence: 0.5,
        check: "mysql -e 'SHOW REPLICA STATUS\\G' | grep -E 'Running|Last_.*Error|Seconds_Behind'",
      },
      {
        text: t("A large transaction or heavy write burst on the primary", "主库上的大事务或写入突增"),
        confidence: 0.3,
        check: 'mysql_slave_status_seconds_behind_master{instance="{{instance}}"}',
        hint: /lag|behind|延迟/i,
      },
    ],
    steps: [
      {
        text: t("Read the replica status and its last error", "查看复制状态及最近错误"),
        command: "mysql -e 'SHOW REPLICA STATUS\\G'",
        risk: "low",
      },
      {
        text: t("Fix the failing statement's data, then restart replication", "修复导致失败的数据后重启复制"),
        command: "mysql -e 'START REPLICA'",
        risk: "high",
      },
    ],
  },
  {
    names: ["MysqlSlowQueries", "MySQLSlowQueries"],
    family: "database",
    summary: t("MySQL on {{instance}} runs many slow queries", "{{instance}} 上的 MySQL 慢查询增多"),
    keywords: /slow.?quer|慢查询/i,
    causes: [
      {
        text: t(
          "A query lost its index (new code path, changed plan, missing index)",
          "某查询未走索引（新代码、执行计划变化、缺少索引）",
        ),
        confidence: 0.55,
        check: "pt-query-digest /var/lib/mysql/<host>-slow.log --limit 5",
      },
    ],
    steps: [
      {
        text: t("See the slow-query rate", "查看慢查询速率"),
        command: 'rate(mysql_global_status_slow_queries{instance="{{instance}}"}[5m])',
        risk: "low",
      },
      {
        text: t(
          "EXPLAIN the top query and add the index it needs",
          "对最慢的查询执行 EXPLAIN 并补充所需索引",
        ),
        command: "mysql -e 'EXPLAIN <query>'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["PostgresqlDown", "PostgresDown", "PostgreSQLDown"],
    family: "database",
    summary: t("PostgreSQL on {{instance}} is down", "{{instance}} 上的 PostgreSQL 已宕机"),
    keywords: /postgres.*down|pg_up/i,
    causes: [
      {
        text: t(
          "postgres stopped (crash, full disk, WAL volume full)",
          "postgres 已停止（崩溃、磁盘写满、WAL 卷写满）",
        ),
        confidence: 0.55,
        check:
          "ssh {{host}} 'systemctl status postgresql --no-pager; journalctl -u postgresql -n 50 --no-pager'",
      },
      {
        text: t(
          "postgres_exporter cannot connect (pg_hba.conf, password)",
          "postgres_exporter 无法连接（pg_hba.conf、密码）",
        ),
        confidence: 0.25,
        check: 'pg_up{instance="{{instance}}"}',
        hint: /authentication|pg_hba|exporter/i,
      },
    ],
    steps: [
      {
        text: t("Check that the server accepts connections", "确认服务能接受连接"),
        command: "pg_isready -h {{host}}",
        risk: "low",
      },
      {
        text: t("Free the WAL/data disk if full, then start the server", "若 WAL/数据盘已满则先释放再启动"),
        command: "ssh {{host}} 'systemctl start postgresql'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["PostgresqlTooManyConnections", "PostgresTooManyConnections"],
    family: "database",
    summary: t(
      "PostgreSQL on {{instance}} is close to max_connections",
      "{{instance}} 上的 PostgreSQL 连接数接近 max_connections",
    ),
    keywords: /postgres.*connection/i,
    causes: [
      {
        text: t(
          "Idle-in-transaction sessions or a client without a pooler",
          "事务中空闲的会话，或客户端未使用连接池",
        ),
        confidence: 0.55,
        check:
          'psql -c "SELECT state, usename, application_name, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC"',
      },
    ],
    steps: [
      {
        text: t("See sessions by state and client", "按状态与客户端查看会话"),
        command: 'psql -c "SELECT state, count(*) FROM pg_stat_activity GROUP BY 1"',
        risk: "low",
      },
      {
        text: t(
          "End idle-in-transaction sessions; put PgBouncer in front of the clients",
          "结束事务中空闲的会话；在客户端前加 PgBouncer",
        ),
        command:
          "psql -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '10 minutes'\"",
        risk: "high",
      },
    ],
  },
  {
    names: ["PostgresqlReplicationLag", "PostgresReplicationLag", "PostgresqlDeadLocks"],
    family: "database",
    summary: t(
      "PostgreSQL on {{instance}} reports replication lag or deadlocks",
      "{{instance}} 上的 PostgreSQL 出现复制延迟或死锁",
    ),
    keywords: /postgres.*(lag|replication|deadlock)/i,
    causes: [
      {
        text: t(
          "Long transactions or heavy writes on the primary; a replica replaying slowly",
          "主库上的长事务或大量写入；备库回放缓慢",
        ),
        confidence: 0.45,
        check: "psql -c 'SELECT client_addr, state, replay_lag FROM pg_stat_replication'",
        hint: /lag|replication/i,
      },
      {
        text: t("Transactions that lock rows in different orders (deadlocks)", "事务以不同顺序锁行（死锁）"),
        confidence: 0.35,
        check: 'rate(pg_stat_database_deadlocks{instance="{{instance}}"}[5m])',
        hint: /deadlock/i,
      },
    ],
    steps: [
      {
        text: t("See replication state and lag", "查看复制状态与延迟"),
        command: "psql -c 'SELECT * FROM pg_stat_replication'",
        risk: "low",
      },
      {
        text: t("Find the blocking sessions", "找出阻塞会话"),
        command:
          "psql -c 'SELECT pid, pg_blocking_pids(pid), query FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0'",
        risk: "low",
      },
    ],
  },
  {
    names: ["RedisDown", "RedisInstanceDown"],
    family: "database",
    summary: t("Redis on {{instance}} is down", "{{instance}} 上的 Redis 已宕机"),
    keywords: /redis.*down|redis_up/i,
    causes: [
      {
        text: t(
          "redis-server stopped (OOM kill, failed persistence, crash)",
          "redis-server 已停止（被 OOM 杀死、持久化失败、崩溃）",
        ),
        confidence: 0.6,
        check:
          "ssh {{host}} 'systemctl status redis-server --no-pager; tail -50 /var/log/redis/redis-server.log'",
      },
    ],
    steps: [
      {
        text: t("Check that Redis answers", "确认 Redis 可响应"),
        command: "redis-cli -h {{host}} ping",
        risk: "low",
      },
      {
        text: t("Start it again after fixing what stopped it", "修复导致停止的原因后重新启动"),
        command: "ssh {{host}} 'systemctl start redis-server'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["RedisOutOfMemory", "RedisMemoryHigh", "RedisOutOfSystemMemory"],
    family: "database",
    summary: t("Redis on {{instance}} is near its memory limit", "{{instance}} 上的 Redis 内存接近上限"),
    keywords: /redis.*mem/i,
    causes: [
      {
        text: t("Keys without a TTL accumulate (or big keys grow)", "无过期时间的键持续累积（或大键增长）"),
        confidence: 0.55,
        check: "redis-cli -h {{host}} --bigkeys",
      },
      {
        text: t("maxmemory is set too low for the data set", "maxmemory 对数据量而言设置过低"),
        confidence: 0.3,
        check:
          'redis_memory_used_bytes{instance="{{instance}}"} / redis_memory_max_bytes{instance="{{instance}}"}',
      },
    ],
    steps: [
      {
        text: t("See memory use, fragmentation and eviction policy", "查看内存使用、碎片率与淘汰策略"),
        command: "redis-cli -h {{host}} INFO memory",
        risk: "low",
      },
      {
        text: t(
          "Set TTLs or delete stale keys; raise maxmemory if the host has room",
          "为键设置过期或删除过期数据；主机有余量时调高 maxmemory",
        ),
        command: "redis-cli -h {{host}} CONFIG SET maxmemory <bytes>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["RedisTooManyConnections", "RedisRejectedConnections"],
    family: "database",
    summary: t("Redis on {{instance}} has too many clients", "{{instance}} 上的 Redis 客户端连接过多"),
    keywords: /redis.*(connection|client)/i,
    causes: [
      {
        text: t("A client leaks connections or opens one per request", "客户端泄漏连接或每个请求新建连接"),
        confidence: 0.6,
        check:
          "redis-cli -h {{host}} CLIENT LIST | awk '{print $2}' | cut -d= -f2 | cut -d: -f1 | sort | uniq -c | sort -rn | head",
      },
    ],
    steps: [
      {
        text: t("See connected clients against maxclients", "查看已连接客户端数与 maxclients"),
        command: "redis-cli -h {{host}} INFO clients",
        risk: "low",
      },
      {
        text: t(
          "Fix the leaking client; kill its idle connections",
          "修复泄漏连接的客户端，并关闭其空闲连接",
        ),
        command: "redis-cli -h {{host}} CLIENT KILL ADDR <ip:port>",
        risk: "medium",
      },
    ],
  },
  {
    names: ["RedisReplicationBroken", "RedisDisconnectedSlaves", "RedisMissingMaster"],
    family: "database",
    summary: t("Redis replication around {{instance}} is broken", "{{instance}} 相关的 Redis 复制已中断"),
    keywords: /redis.*(replica|slave|master)/i,
    causes: [
      {
        text: t(
          "A replica lost its master (network, master restarted, failover)",
          "副本与主节点失联（网络、主节点重启、故障切换）",
        ),
        confidence: 0.55,
        check: "redis-cli -h {{host}} INFO replication",
      },
    ],
    steps: [
      {
        text: t("Read the replication section on master and replicas", "查看主从两侧的复制信息"),
        command: "redis-cli -h {{host}} INFO replication",
        risk: "low",
      },
      {
        text: t("Point the replica at the current master", "将副本指向当前主节点"),
        command: "redis-cli -h {{host}} REPLICAOF <master-host> 6379",
        risk: "high",
      },
    ],
  },
  {
    names: ["MongodbDown", "MongoDBDown", "MongodbReplicaMemberUnhealthy"],
    family: "database",
    summary: t("MongoDB on {{instance}} is down or unhealthy", "{{instance}} 上的 MongoDB 宕机或不健康"),
    keywords: /mongo/i,
    causes: [
      {
        text: t("mongod stopped or a replica-set member is unreachable", "mongod 已停止或副本集成员不可达"),
        confidence: 0.55,
        check: "mongosh --host {{host}} --eval 'rs.status().members.map(m => [m.name, m.stateStr])'",
      },
    ],
    steps: [
      {
        text: t("See the replica set's member states", "查看副本集成员状态"),
        command: "mongosh --host {{host}} --eval 'rs.status()'",
        risk: "low",
      },
      {
        text: t("Restart the failed member after checking its log", "查看日志后重启故障成员"),
        command: "ssh {{host}} 'systemctl restart mongod'",
        risk: "medium",
      },
    ],
  },
  {
    names: ["ElasticsearchClusterRed", "ElasticsearchClusterYellow", "ElasticsearchHealthyNodes"],
    family: "database",
    summary: t("Elasticsearch cluster {{cluster}} is not green", "Elasticsearch 集群 {{cluster}} 状态非绿色"),
    keywords: /elasticsearch|opensearch/i,
    causes: [
      {
        text: t(
          "Shards are unassigned (a node left, disk watermark reached)",
          "存在未分配分片（节点离开、磁盘水位触发）",
        ),
        confidence: 0.6,
        check: "curl -s '{{instance}}/_cluster/allocation/explain?pretty'",
        hint: /watermark|disk/i,
      },
    ],
    steps: [
      {
        text: t("List unassigned shards and the reason", "列出未分配分片及原因"),
        command:
          "curl -s '{{instance}}/_cat/shards?v&h=index,shard,prirep,state,unassigned.reason' | grep UNASSIGNED",
        risk: "low",
      },
      {
        text: t("Free disk or bring the node back, then retry allocation", "释放磁盘或恢复节点后重试分配"),
        command: "curl -s -XPOST '{{instance}}/_cluster/reroute?retry_failed=true'",
        risk: "medium",
      },
    ],
  },
];
