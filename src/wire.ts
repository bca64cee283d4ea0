/**
 * Builds Deps from a validated Config plus what only the entry knows (runtime, metrics
 * backend, clock, fetch). Shared by every entry, the CLI and the tests.
 */

import { type Analyst, buildAnalyst } from "./analysis/analyst.ts";
import { blockedPortRefusal } from "./config/blocked-ports.ts";
import { mountedFamilies } from "./config/families.ts";
import type { Config } from "./config/schema.ts";
import { ConfigError } from "./errors.ts";
import type { Deps } from "./jobs/deps.ts";
import { ConcurrencyGate } from "./jobs/gate.ts";
import { buildChannels } from "./notify/channels/index.ts";
import { buildNotifier, checkTimeZone, type Notifier } from "./notify/notifier.ts";
import { checkTemplates } from "./notify/templates.ts";
import type { Fetch, FileAccess, RuntimeName, TcpConnect } from "./ports.ts";
import { type SignatureDigests, SignatureVerifier } from "./qstash/verify.ts";
import { createStore, type StorePorts } from "./store/create.ts";
import { Ledger, openMessageKeys } from "./store/ledger.ts";
import type { Store } from "./store/store.ts";
import { fileDeliveryRefusal } from "./sync/file.ts";
import { ruleExpressions } from "./sync/state.ts";
import { createLogger, type Logger } from "./telemetry/logger.ts";
import type { Metrics } from "./telemetry/metrics.ts";
import { tracingFetch } from "./telemetry/trace.ts";
import { userInfoAsBasic } from "./user-info.ts";
import { VERSION } from "./version.ts";

/** The store a worker runs on: the config's kind, with the ledger's rule of what a memory store must keep. */
export function storeFor(cfg: Config["store"], opts: StorePorts): Store {
  return createStore(cfg, { ...opts, keep: openMessageKeys });
}

/** The config as a Worker runs it: its figures are always summed in the store (README, "Where the figures come from"). */
export function asOnWorkers(config: Config): Config {
  return { ...config, worker: { ...config.worker, metrics: "store" } };
}

/** The ConfigErrors `checks` throw, each run (anything else is a bug: rethrown). */
function refusedBy(checks: (() => unknown)[]): ConfigError[] {
  const found: ConfigError[] = [];
  for (const check of checks)
    try {
      check();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      found.push(e);
    }
  return found;
}

const noTcp: TcpConnect = () => Promise.reject(new Error("not opened by check-config"));

/** What buildDeps refuses past the schema on `runtime` (time zone, templates, channels, ports), opening nothing. */
function notifyRefusals(config: Config, runtime: RuntimeName): ConfigError[] {
  return refusedBy([
    () => checkTimeZone(config),
    () => checkTemplates(config.templates),
    () => buildChannels(config, { runtime, tcp: noTcp }),
    () => throwIf(blockedPortRefusal(config, runtime)),
  ]);
}

const throwIf = (e: ConfigError | undefined): void => {
  if (e) throw e;
};

const joined = (found: ConfigError[], lead = "") =>
  found.length
    ? new ConfigError(
        `${lead}${found.map((e) => e.message).join("; ")}`,
        found.flatMap((e) => e.issues),
      )
    : undefined;

/** What serve would refuse in this config on `runtime` once the schema took it: `check-config`. */
export function configRefusal(config: Config, runtime: RuntimeName): ConfigError | undefined {
  return joined(notifyRefusals(config, runtime));
}

/**
 * What a Cloudflare Worker would refuse in this config at its first request (its entry's checks:
 * no files, no TCP to Redis, no SQLite, email only off port 25 and without a private CA, and what
 * any runtime refuses past the schema), for `check-config --workers`; undefined when it would run.
 */
export function workersRefusal(config: Config): ConfigError | undefined {
  const files = fileDeliveryRefusal(config, "Cloudflare Workers");
  return joined(
    [
      ...(files ? [files] : []),
      ...refusedBy([() => createStore(config.store, { runtime: "Cloudflare Workers" })]),
      ...notifyRefusals(config, "workerd"),
    ],
    "Cloudflare Workers would refuse this config: ",
  );
}

/** What a Worker would run but warns about at its first request: a memory store, per isolate. */
export function workersWarnings(config: Config): { path: string; message: string }[] {
  const kind = config.store.kind ?? "memory";
  return kind === "memory"
    ? [
        {
          path: "store.kind",
          message: `is ${config.store.kind ?? "unset"}: on Workers that is a memory store per isolate (no ledger or lease shared between isolates, lost on eviction: a page may go out twice); use store.kind: upstash`,
        },
      ]
    : [];
}

export interface WireOptions {
  config: Config;
  store: Store;
  metrics: Metrics;
  runtime: RuntimeName;
  logger?: Logger;
  gate?: ConcurrencyGate;
  fetch?: Fetch;
  /** The signature check's digests (node:crypto's when absent). */
  digests?: SignatureDigests;
  now?: () => number;
  startedAt?: number;
  background?: (p: Promise<unknown>) => void;
  fs?: FileAccess;
  /** Outbound TCP for SMTP, where the runtime has it (the entry's port); without it email channels are refused. */
  tcp?: TcpConnect;
}

export function buildDeps(o: WireOptions): Deps {
  const now = o.now ?? Date.now;
  const config = o.config;
  throwIf(blockedPortRefusal(config, o.runtime));
  const logger =
    o.logger ?? createLogger({ level: config.worker.log_level, base: { name: config.worker.name } });
  const gate = o.gate ?? new ConcurrencyGate(config.worker.concurrency);
  gate.limit = config.worker.concurrency;
  let analyst: Analyst | undefined;
  let notifier: Notifier | undefined;
  const deps: Deps = {
    config,
    store: o.store,
    ledger: new Ledger(o.store, {
      leaseMs: config.worker.lease,
      retentionMs: config.store.retention,
      now,
      timerOutlivesJobs: o.runtime !== "workerd",
    }),
    verifier: new SignatureVerifier(
      { current: config.qstash.current_signing_key, next: config.qstash.next_signing_key },
      o.digests,
    ),
    gate,
    metrics: o.metrics,
    logger,
    // Every outbound call carries the running job's traceparent (src/telemetry/trace.ts), and a
    // URL's user-info as Basic auth (src/user-info.ts).
    fetch: tracingFetch(userInfoAsBasic(o.fetch ?? ((input, init) => fetch(input, init)))),
    now,
    version: VERSION,
    runtime: o.runtime,
    startedAt: o.startedAt ?? now(),
    families: mountedFamilies(config),
    background: o.background,
    fs: o.fs,
    tcp: o.tcp,
    // Built once, on first use: a worker without analysis never builds its engines.
    get analyst() {
      analyst ??= buildAnalyst(deps, ruleExpressions(deps.store, now));
      return analyst;
    },
    get notifier() {
      notifier ??= buildNotifier(deps);
      return notifier;
    },
  };
  return deps;
}
