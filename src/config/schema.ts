/**
 * The config schema (README, "Configuration"): the single source of truth for what a worker.yaml may say.
 * Unknown keys are errors, so typos surface at start-up with their exact path.
 */

import { z } from "zod";
import { normalPath } from "../normal-path.ts";
import { duration, positiveDuration, rate, size, sizeOrOff } from "./units.ts";

/** The languages of the words notifications add (src/notify/locale.ts holds them). */
export const LOCALES = ["en", "zh-CN"] as const;

export const WORKER_TYPES = ["general", "ai-analysis", "notification", "config-sync"] as const;
export const FAMILIES = ["analysis", "notification", "config-sync", "failure", "autoscale"] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * User-info holding a space, a quote, a backtick or an angle bracket: characters a URL cannot carry
 * raw (RFC 3986 §3.2.1). Error messages quote a URL up to such a character, so the rest of a
 * password there would follow the masked part in the clear (README, "Security").
 */
const rawUserInfo = (s: string) => /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[\s"'<>`][^/?#]*@/i.test(s);
const USER_INFO_MESSAGE =
  "its user or password holds a space, a quote, a backtick or an angle bracket: percent-encode it (%20, %22, %27, %60, %3C, %3E)";

const url = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .refine((s) => !rawUserInfo(s), USER_INFO_MESSAGE);
/** A non-empty string; a number is taken as its text (a token or key from ${VAR} may be all digits). */
const str = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().min(1));
/**
 * Request headers to send: names are HTTP tokens and values visible ASCII (RFC 9110 §5.1, §5.5).
 * fetch refuses a CR/LF or a character past U+00FF at every send — which would read as the peer
 * being unreachable — and sends Latin-1 letters as raw bytes few servers read as meant.
 */
const headers = z
  .record(
    z.string(),
    // Surrounding whitespace goes, as fetch drops it (a secret file's trailing newline); a number is text.
    z.preprocess(
      (v) =>
        typeof v === "number"
          ? String(v)
          : typeof v === "string"
            ? v.replace(/^[\t\r\n ]+|[\t\r\n ]+$/g, "")
            : v,
      z
        .string()
        .regex(/^[\t\x20-\x7e]*$/, "a header value is printable ASCII (no line breaks, no other characters)"),
    ),
  )
  .superRefine((h, ctx) => {
    for (const name of Object.keys(h))
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "a header name is letters, digits and !#$%&'*+.^_`|~-",
        });
  })
  .default({});

const worker = z.strictObject({
  /** Instance name, shown in /health, logs and worker_info. @default "alertagent-worker" */
  name: str.default("alertagent-worker"),
  type: z.enum(WORKER_TYPES).default("general"),
  /** Families to mount; default from `type`. */
  families: z.array(z.enum(FAMILIES)).min(1).optional(),
  /** The URL QStash publishes to (before TLS termination); when set, `sub` must equal it + path. */
  // The job routes go after its path (public_url + /jobs/<family>): a query or fragment would take them in.
  public_url: url
    .refine((u) => !/[?#]/.test(u), {
      message: "must not have a query or a fragment: the job routes go after its path",
    })
    .optional(),
  host: str.default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(8081),
  /** Jobs handled at once by this process; more answer 429. @default 64 */
  concurrency: z.number().int().min(1).max(100_000).default(64),
  admin_token: str.optional(),
  body_limit: size.default(1024 * 1024),
  /**
   * Soft memory limit (like Go's GOMEMLIMIT): when the process's RSS passes it, the worker runs a
   * full garbage collection — at most every 100 ms and at most a fifth of the time. Where the runtime
   * lets the worker collect (the binary, bun run); `off` (or 0) turns it off. @default 128mb
   */
  memory_limit: sizeOrOff.default(128 * 1024 ** 2),
  /** How long a delivery holds its message id before another may take over. @default 60s */
  lease: positiveDuration.default(60_000),
  /** How long SIGTERM waits for in-flight jobs. @default 30s */
  shutdown_timeout: duration.default(30_000),
  /** IANA time zone for rendered times. @default "UTC" */
  timezone: str.default("UTC"),
  /** The language of the words notifications add (`en`, `zh-CN`); a channel's `locale` overrides it. @default "en" */
  locale: z.enum(LOCALES).default("en"),
  /**
   * Labels a Silence link filters on, besides alertname: the ones that identify an alert. Unset:
   * the group's groupLabels and `instance` (a short link leaves room for alerts in a message).
   */
  silence_labels: z.array(str).optional(),
  log_level: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /**
   * Where /metrics, /stats and the dashboard get their figures: `process` (prom-client, this
   * process) or `store` (every instance adds to one set in the store; always so on Workers). @default "process"
   */
  metrics: z.enum(["process", "store"]).default("process"),
  /** Export each job as a span over OTLP/HTTP JSON to `otlp_url` + /v1/traces (off when unset). */
  tracing: z
    .strictObject({
      otlp_url: url.optional(),
      headers,
      service_name: str.default("alertagent-worker"),
    })
    .prefault({}),
});

const flowControl = z
  .strictObject({
    key: str,
    parallelism: z.number().int().min(1).optional(),
    min: z.number().int().min(1).default(1),
    max: z.number().int().min(1).default(100),
    rate: z.number().int().min(1).optional(),
    period: duration.optional(),
  })
  .superRefine((f, ctx) => {
    if (f.min > f.max)
      ctx.addIssue({ code: "custom", path: ["min"], message: `is more than max (${f.max})` });
    else if (f.parallelism !== undefined && (f.parallelism < f.min || f.parallelism > f.max))
      ctx.addIssue({
        code: "custom",
        path: ["parallelism"],
        message: `is outside [min, max] = [${f.min}, ${f.max}]`,
      });
  });

const qstash = z
  .strictObject({
    current_signing_key: str,
    next_signing_key: str,
    token: str.optional(),
    url: url.default("https://qstash.upstash.io"),
    clock_tolerance: duration.default(5000),
    flow_control: z
      .strictObject({
        analysis: flowControl.optional(),
        notification: flowControl.optional(),
        config_sync: flowControl.optional(),
      })
      .prefault({}),
    autoscale: z
      .strictObject({
        scale_up_threshold: z.number().positive().default(0.7),
        scale_down_threshold: z.number().nonnegative().default(0.3),
        cooldown: duration.default(300_000),
        /** Above this error rate (since the last run) the worker is unhealthy: scale down, never up. @default 0.2 */
        max_error_rate: z.number().min(0).max(1).default(0.2),
        /** Above this p95 job latency (since the last run) the worker is unhealthy. @default 30s */
        max_latency_p95: duration.default(30_000),
      })
      .prefault({}),
    schedules: z
      .array(
        z.strictObject({
          id: str,
          cron: str,
          route: z.enum(
            FAMILIES.map((f) => `/jobs/${f}` as const),
            `must be a job route: ${FAMILIES.map((f) => `/jobs/${f}`).join(", ")}`,
          ),
          body: z.unknown().optional(),
        }),
      )
      .default([]),
  })
  .superRefine((q, ctx) => {
    // Each family needs its own key: one key's parallelism is what autoscale moves for one family.
    const owner = new Map<string, string>();
    for (const [family, fc] of Object.entries(q.flow_control)) {
      if (!fc) continue;
      const other = owner.get(fc.key);
      if (other)
        ctx.addIssue({
          code: "custom",
          path: ["flow_control", family, "key"],
          message: `is ${other}'s key too: give each family its own`,
        });
      owner.set(fc.key, family);
    }
    const a = q.autoscale;
    if (a.scale_down_threshold >= a.scale_up_threshold)
      ctx.addIssue({
        code: "custom",
        path: ["autoscale", "scale_down_threshold"],
        message: `must be below scale_up_threshold (${a.scale_up_threshold})`,
      });
    // setup-qstash creates schedules by id: a second one of an id would overwrite the first.
    const seen = new Set<string>();
    for (const [i, s] of q.schedules.entries()) {
      if (seen.has(s.id))
        ctx.addIssue({ code: "custom", path: ["schedules", i, "id"], message: `"${s.id}" is given twice` });
      seen.add(s.id);
    }
  });

const store = z
  .strictObject({
    /**
     * sqlite (a file, durable across restarts), memory (lost on restart: tests), upstash (REST) or
     * redis (TCP). Unset: sqlite where the runtime has SQLite (the binary, Deno), memory on Workers.
     */
    kind: z.enum(["sqlite", "memory", "upstash", "redis"]).optional(),
    /** sqlite only: the database file (WAL mode: `-wal` and `-shm` files sit beside it). */
    path: z.string().min(1).default("./data/alertagent.db"),
    /** Upstash REST URL (https://…) or redis://host:port for a self-hosted Redis. */
    url: str.optional(),
    token: str.optional(),
    prefix: z.string().default("alertagent:"),
    retention: positiveDuration.default(7 * 86_400_000),
    /** memory only: most values kept before the oldest-created are dropped (~1–3 KB each). @default 10000 */
    max_keys: z.number().int().min(100).default(10_000),
  })
  .superRefine((s, ctx) => {
    // A pasted secret's newline or space: the Upstash client refuses such a URL at every request,
    // and Upstash such a token as unauthorized.
    for (const key of ["url", "token"] as const)
      if (s[key] !== undefined && s[key] !== s[key].trim())
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: "begins or ends with a space or a line break (pasted with it?)",
        });
    if ((s.kind === "upstash" || s.kind === "redis") && !s.url)
      ctx.addIssue({ code: "custom", path: ["url"], message: `is required for store kind ${s.kind}` });
    if (s.kind === "upstash" && !s.token)
      ctx.addIssue({ code: "custom", path: ["token"], message: "is required for store kind upstash" });
    if (s.kind === "upstash" && s.url && !/^https?:\/\//.test(s.url))
      ctx.addIssue({ code: "custom", path: ["url"], message: "must be the Upstash REST URL (https://…)" });
    if (s.kind === "redis" && s.url && !/^rediss?:\/\//.test(s.url))
      ctx.addIssue({ code: "custom", path: ["url"], message: "must be a redis:// URL" });
    // A `#`, `?` or `/` in a generated password breaks the URL (or moves the host): say so here,
    // not as "Invalid URL" from the first connection.
    if ((s.kind === "upstash" || s.kind === "redis") && s.url && rawUserInfo(s.url))
      ctx.addIssue({ code: "custom", path: ["url"], message: USER_INFO_MESSAGE });
    else if ((s.kind === "upstash" || s.kind === "redis") && s.url && !parsesWhole(s.url))
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message:
          "is not a URL this can read: the port must be a number, and a #, ?, / or @ in the user or password must be percent-encoded (%23, %3F, %2F, %40)",
      });
    // The database index, when given, is a number: `/db3` would pass here and fail every job.
    if (s.kind === "redis" && s.url && !/^rediss?:\/\/[^/?#]*(\/(\d+)?)?([?#].*)?$/.test(s.url))
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message: "the path must be a database number (redis://host:6379/2)",
      });
  });

/** Whether `url` parses, without a fragment (a store URL has none: a `#` there is part of a password). */
function parsesWhole(url: string): boolean {
  try {
    return new URL(url).hash === "" && !url.includes("#");
  } catch {
    return false;
  }
}

/** A Dify app: `workflow`, `chat` (chat and chatflow apps) or `agent` (agent apps answer only streaming). */
const difyApp = z.strictObject({ mode: z.enum(["workflow", "chat", "agent"]), key: str });
const ai = z.strictObject({
  order: z
    .array(z.enum(["dify", "ollama", "builtin"]))
    .min(1)
    .default(["dify", "ollama", "builtin"]),
  /** The language analyses answer in; default from worker.locale (zh-CN → zh). */
  language: z.enum(["en", "zh"]).optional(),
  timeout: duration.default(30_000),
  /**
   * The most one alert waits on Dify and Ollama together before the next engine (the built-in
   * one) answers; each engine still within its own timeout. @default the longest engine timeout
   */
  budget: positiveDuration.optional(),
  /**
   * The most one job's alerts wait on Dify and Ollama together: past it the job's remaining alerts
   * are answered by the built-in engine, so a payload of many alerts ends well within the binary's
   * 255 s idle connection and QStash's longest answer (docs/analysis.md, "Time"). @default 3m
   */
  job_budget: positiveDuration.default(180_000),
  /**
   * The most alerts one job analyses (firing first, then in payload order); the answer counts the
   * rest in `left_out`. An alert storm's payload would otherwise make an answer (and a ledger
   * entry) tens of megabytes (docs/analysis.md, "Many alerts"). @default 200
   */
  job_alerts: z.number().int().positive().default(200),
  /**
   * How long a completed analysis of a firing alert answers a later job for the same alert in the
   * same episode (its startsAt), type and language instead of the engines again: Alertmanager
   * sends a group again at each change, each reminder and from each HA peer, each a new message
   * (docs/analysis.md, "Repeats"). `0s` asks the engines every time. @default 1h
   */
  reuse_for: duration.default(3_600_000),
  dify: z
    .strictObject({
      url,
      /** Per-call timeout for Dify; default ai.timeout. */
      timeout: duration.optional(),
      apps: z
        .strictObject({
          comprehensive: difyApp.optional(),
          quick: difyApp.optional(),
          root_cause: difyApp.optional(),
        })
        .prefault({}),
    })
    .optional(),
  ollama: z
    .strictObject({
      url,
      model: str,
      /** Embedding model for similar-alert search; built-in similarity only when unset. */
      embed_model: str.optional(),
      /** Per-call timeout for Ollama; default ai.timeout. */
      timeout: duration.optional(),
    })
    .optional(),
  /** Per-engine circuit breaker, shared by all instances through the store. */
  breaker: z
    .strictObject({
      /** Consecutive failures that open it. @default 5 */
      failures: z.number().int().min(1).default(5),
      /** How long an open breaker skips its engine before one call tries it again. @default 30s */
      cooloff: duration.default(30_000),
    })
    .prefault({}),
  /**
   * Evidence from Prometheus before answering (docs/analysis.md, "Evidence"): read-only queries
   * about the alert, bounded in count and time. Off unless a Prometheus is named (or, with
   * allow_generator_url, the alert's generatorURL origin is trusted).
   */
  evidence: z
    .strictObject({
      prometheus_url: url.optional(),
      /** Sent with every query (e.g. Authorization); masked wherever config is shown. */
      headers,
      /** All of one alert's queries together. @default 3s */
      timeout: duration.default(3000),
      /** @default 8 */
      max_queries: z.number().int().min(1).max(32).default(8),
      /** How far back trends look. @default 6h */
      lookback: duration.default(6 * 3_600_000),
      /** Ask the Prometheus in each alert's generatorURL when prometheus_url is unset. */
      allow_generator_url: z.boolean().default(false),
    })
    .optional(),
  similar: z
    .strictObject({
      top_k: z.number().int().min(1).max(100).default(5),
      min_score: z.number().min(0).max(1).default(0.3),
      /** Alerts kept in the similarity index; the oldest are dropped past it. @default 100000 */
      max_alerts: z.number().int().min(100).default(100_000),
    })
    .prefault({}),
});

/** The most parts one message may be split into. */
export const MAX_PARTS = 50;

const channelCommon = {
  fallback: z.array(str).default([]),
  template: str.optional(),
  format: z.enum(["text", "markdown", "html"]).optional(),
  /** The language of this channel's messages; default worker.locale. */
  locale: z.enum(LOCALES).optional(),
  rate: rate.optional(),
  max_parts: z.number().int().min(1).max(MAX_PARTS).default(5),
  /** Alertmanager repeats (same groupKey, status and alerts) within this window are skipped; 0 turns it off. @default 10m */
  dedup_window: duration.default(600_000),
  /**
   * An HA peer's late copy: a firing state this soon after the channel received that episode's
   * resolve is skipped (docs/notifications.md). Keep it under Alertmanager's group_interval; 0
   * with one Alertmanager. @default 1m
   */
  late_copy_window: duration.default(60_000),
};

export const channelSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("dingtalk"),
    webhook: url,
    secret: str.optional(),
    at: z
      .strictObject({
        mobiles: z.array(str).default([]),
        user_ids: z.array(str).default([]),
        all: z.boolean().default(false),
        /** Mention them on a message whose alerts are all resolved too. @default false */
        on_resolved: z.boolean().default(false),
      })
      .prefault({}),
    msgtype: z.enum(["markdown", "text", "actionCard"]).default("markdown"),
    /** The robot's security keywords (自定义关键词): every part carries one (docs/notifications.md). */
    keywords: z.array(str).max(10).default([]),
    ...channelCommon,
  }),
  z.strictObject({
    type: z.literal("wecom"),
    webhook: url,
    msgtype: z.enum(["markdown", "markdown_v2", "text"]).default("markdown"),
    mentioned_list: z.array(str).default([]),
    mentioned_mobile_list: z.array(str).default([]),
    /** Mention them on a message whose alerts are all resolved too. @default false */
    mention_on_resolved: z.boolean().default(false),
    ...channelCommon,
  }),
  z.strictObject({
    type: z.literal("feishu"),
    webhook: url,
    secret: str.optional(),
    msg_type: z.enum(["interactive", "post", "text"]).default("interactive"),
    at: z
      .strictObject({
        /** open_ids (ou_…) or user_ids of the people to mention. */
        user_ids: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, "an open_id (ou_…) or a user_id")).default([]),
        all: z.boolean().default(false),
        /** Mention them on a message whose alerts are all resolved too. @default false */
        on_resolved: z.boolean().default(false),
      })
      .prefault({}),
    /** The bot's security keywords: every part carries one (docs/notifications.md). */
    keywords: z.array(str).max(10).default([]),
    ...channelCommon,
  }),
  z.strictObject({ type: z.literal("slack"), webhook: url, ...channelCommon }),
  z.strictObject({
    type: z.literal("webhook"),
    url,
    method: z.enum(["POST", "PUT", "PATCH"]).default("POST"),
    // Idempotency-Key is the worker's, one per message and part (docs/notifications.md).
    headers: headers.refine((h) => !Object.keys(h).some((k) => k.toLowerCase() === "idempotency-key"), {
      message: "Idempotency-Key is set by the worker (<message id>:<channel>:<part>); leave it out",
    }),
    timeout: duration.default(10_000),
    ...channelCommon,
  }),
  z.strictObject({
    type: z.literal("email"),
    smtp: z.strictObject({
      host: str,
      /** @default 465 for tls, 587 for starttls, 25 for none */
      port: z.number().int().min(1).max(65535).optional(),
      secure: z.enum(["tls", "starttls", "none"]).default("tls"),
      user: str.optional(),
      pass: str.optional(),
      /** Extra CA certificates (PEM) to trust, for a mail server with a private CA. */
      ca: str.optional(),
      /** false accepts any certificate (test servers only). @default true */
      reject_unauthorized: z.boolean().default(true),
      /** Connect and per-reply timeout. @default 30s */
      timeout: duration.default(30_000),
      /** The name sent with EHLO. @default the domain of `from` */
      helo: str.optional(),
    }),
    from: str,
    to: z.array(str).min(1),
    cc: z.array(str).default([]),
    ...channelCommon,
  }),
  z.strictObject({ type: z.literal("console"), ...channelCommon }),
]);

const template = z.strictObject({
  format: z.enum(["text", "markdown", "html"]).default("markdown"),
  title: z.string(),
  body: z.string(),
});

const syncTarget = z.strictObject({
  kind: z.enum(["prometheus", "alertmanager", "vmalert"]),
  delivery: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("file"), path: str, reload_url: url.optional() }),
    z.strictObject({
      type: z.literal("http"),
      url,
      method: z.enum(["PUT", "POST"]).default("PUT"),
      headers,
    }),
    z.strictObject({ type: z.literal("mimir"), url, namespace: str, tenant: str.optional() }),
  ]),
  /** Where to read back what the target applied; default the origin of reload_url (mimir: its url). */
  verify: z
    .strictObject({
      url: url.optional(),
      /** How long to wait for the target to show what was delivered. @default 10s */
      timeout: duration.default(10_000),
    })
    .prefault({}),
  include: z.array(str).optional(),
  /** Rendered fields this target's version refuses (vmalert 1.79: keep_firing_for, eval_offset). */
  omit_fields: z
    .array(
      z.enum(["keep_firing_for", "eval_offset", "limit", "concurrency", "type", "query_offset", "interval"]),
    )
    .default([]),
  /**
   * Also deliver the worker's own alert rules (`self-rules`) to this Prometheus or vmalert target:
   * `true`, or `{job}` naming the scrape job the worker's metrics come under (default alertagent-worker).
   */
  self_rules: z.union([z.boolean(), z.strictObject({ job: str })]).default(false),
  /**
   * Alertmanager targets on 0.28 or later: receivers send QStash's failure-callback and flow-control
   * headers (`http_config.http_headers`, which older releases refuse), so a page QStash gives up on
   * reaches /jobs/failure and pages share the notification key's parallelism.
   */
  qstash_headers: z.boolean().default(false),
});

const configSync = z
  .strictObject({
    source: z.strictObject({ url, token: str.optional() }).optional(),
    targets: z.record(z.string(), syncTarget).default({}),
  })
  .superRefine((c, ctx) => {
    // Two targets writing one file overwrite each other's rules at every sync, each answered 200.
    const seen = new Map<string, string>();
    for (const [name, t] of Object.entries(c.targets)) {
      if (t.delivery.type !== "file") continue;
      const file = normalPath(t.delivery.path);
      const other = seen.get(file);
      if (other !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["targets", name, "delivery", "path"],
          message: `is also target "${other}"'s file: two targets writing one file overwrite each other's rules`,
        });
      else seen.set(file, name);
    }
  });

export const configSchema = z
  .strictObject({
    worker: worker.prefault({}),
    qstash,
    store: store.prefault({}),
    ai: ai.prefault({}),
    channels: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/, "channel names use letters, digits, _ . -"),
        channelSchema,
      )
      .default({}),
    templates: z.record(z.string(), template).default({}),
    config_sync: configSync.prefault({}),
    failure: z.strictObject({ notify: z.array(str).default([]) }).prefault({}),
  })
  .superRefine((c, ctx) => {
    for (const [name, ch] of Object.entries(c.channels)) {
      for (const [i, fb] of ch.fallback.entries()) {
        if (!c.channels[fb])
          ctx.addIssue({
            code: "custom",
            path: ["channels", name, "fallback", i],
            message: `unknown channel "${fb}"`,
          });
      }
      if (ch.template && !c.templates[ch.template] && !ch.template.startsWith("alert-")) {
        ctx.addIssue({
          code: "custom",
          path: ["channels", name, "template"],
          message: `unknown template "${ch.template}"`,
        });
      }
    }
    for (const [name, t] of Object.entries(c.config_sync.targets))
      if (t.qstash_headers && t.kind !== "alertmanager")
        ctx.addIssue({
          code: "custom",
          path: ["config_sync", "targets", name, "qstash_headers"],
          message: `is for alertmanager targets (this one is ${t.kind})`,
        });
    for (const [i, n] of c.failure.notify.entries()) {
      if (!c.channels[n])
        ctx.addIssue({ code: "custom", path: ["failure", "notify", i], message: `unknown channel "${n}"` });
    }
  });

export type Config = z.output<typeof configSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
