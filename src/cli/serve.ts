/**
 * `serve`: build the app from the config, listen, and handle signals — SIGTERM/SIGINT stop
 * accepting and wait (bounded) for in-flight jobs; SIGHUP re-reads the config file and swaps
 * in a new app without touching in-flight jobs (a bad new config is refused, the old stays).
 */
import { createApp, mountedJobFamilies } from "../app.ts";
import { addressedHere, usesDevKeys } from "../config/default.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { configWarnings } from "../config/warnings.ts";
import { unauthorized } from "../errors.ts";
import type { Deps } from "../jobs/deps.ts";
import { ConcurrencyGate } from "../jobs/gate.ts";
import { problemReply, toResponse } from "../qstash/outcome.ts";
import { storeIdentity } from "../store/create.ts";
import { SqliteStore } from "../store/sqlite.ts";
import type { Store } from "../store/store.ts";
import { lineBatch } from "../telemetry/line-batch.ts";
import { createLogger } from "../telemetry/logger.ts";
import { MemoryLimit } from "../telemetry/memory-limit.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { StoreMetrics } from "../telemetry/store-metrics.ts";
import { buildDeps, configRefusal, storeFor } from "../wire.ts";
import { within } from "../within.ts";
import type { ParsedArgs } from "./args.ts";
import {
  applyOverrides,
  assertSafeToServe,
  assertWritable,
  type LoadedConfig,
  loadCliConfig,
} from "./load.ts";
import type { Platform } from "./platform.ts";

const DEV_KEYS_LOCAL_ONLY =
  "this worker runs with QStash's public development signing keys: it answers only requests addressed to this machine (localhost, 127.0.0.1, ::1); give it your own qstash keys to serve other names";

export async function serve(args: ParsedArgs, p: Platform, startedAt: number): Promise<void> {
  const loaded = await loadCliConfig(args, p);
  assertSafeToServe(loaded);
  assertWritable(loaded.config, p);
  const { config } = loaded;
  // Lines are written in batches, once per turn of the event loop (see line-batch.ts).
  const lines = lineBatch(p.stdout);
  const loggerFor = (cfg: Config) =>
    createLogger({ level: cfg.worker.log_level, base: { name: cfg.worker.name }, write: lines.write });
  let logger = loggerFor(config);
  let store = storeFor(config.store, p);
  // worker.metrics: process = prom-client, this process only; store = every instance adds to one set.
  const metricsFor = (cfg: Config, s: Store) =>
    cfg.worker.metrics === "store" ? new StoreMetrics(s) : p.newMetrics(s);
  let metrics = metricsFor(config, store);
  const gate = new ConcurrencyGate(config.worker.concurrency);
  const wire = (cfg: Config, s: Store, m = metrics, l = logger): Deps =>
    buildDeps({
      config: cfg,
      store: s,
      metrics: m,
      runtime: p.runtime,
      logger: l,
      gate,
      startedAt,
      fs: p.fs,
      fetch: p.fetch,
      tcp: p.tcp,
      digests: p.digests,
      // Store-aggregated metrics are flushed after each job, off the response's path.
      background: (work) => void work.catch((e) => logger.warn("background work failed", { error: e })),
    });
  let deps = wire(config, store);
  let app = createApp(deps);
  // With the public dev keys anyone can sign a job: only requests addressed to this machine are
  // answered, so a web page that points its own name at 127.0.0.1 (DNS rebinding) cannot send one.
  const answer = (req: Request) =>
    usesDevKeys(deps.config.qstash) && !addressedHere(req.url)
      ? toResponse(problemReply(unauthorized("dev_keys_local_only", DEV_KEYS_LOCAL_ONLY, false)))
      : app.fetch(req);
  const server = p.serve(answer, config.worker.host, config.worker.port);
  logger.info("listening", {
    url: `http://${config.worker.host.includes(":") ? `[${config.worker.host}]` : config.worker.host}:${server.port}`,
    runtime: p.runtime,
    version: deps.version,
    type: config.worker.type,
    families: mountedJobFamilies(deps),
    ...storeFields(store, config),
    config: loaded.source,
    concurrency: config.worker.concurrency,
    ready_ms: Date.now() - startedAt,
  });
  for (const w of configWarnings(config)) logger.warn("config warning", { ...w });
  lines.flush(); // the start-up line at once: supervisors and people watch for it
  warnHazards(store, () => logger);

  // worker.memory_limit: a full collection when RSS passes it (src/telemetry/memory-limit.ts).
  let memory = p.memory && new MemoryLimit(config.worker.memory_limit, p.memory);
  const memoryTimer = p.memory ? setInterval(() => memory?.check(), 100) : undefined;

  let stopping = false;
  let stoppingSince = 0;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C is the operator not waiting for the drain: the jobs still running are
      // abandoned now, as at the shutdown timeout (their leases expire and QStash redelivers).
      // Not one within a second of the first: `deno task` passes the terminal's SIGINT on to the
      // worker, which the terminal sent it too — one key press, two signals a millisecond apart.
      if (signal !== "SIGINT" || Date.now() - stoppingSince < 1_000) return;
      logger.warn("second SIGINT: exiting without waiting; jobs still in flight are abandoned", {
        in_flight: gate.inFlight,
        abandoned: deps.ledger.running(),
      });
      lines.flush();
      p.exit(130);
      return;
    }
    stopping = true;
    stoppingSince = Date.now();
    logger.info("shutting down: no new connections, finishing in-flight jobs", {
      signal,
      in_flight: gate.inFlight,
    });
    // The server's stop waits for in-flight requests on Bun and Deno, so it is not awaited before
    // the timed drain: worker.shutdown_timeout is the whole wait.
    const closed = server.stop().catch(() => {});
    const drained = await gate.drain(deps.config.worker.shutdown_timeout);
    if (!drained)
      logger.warn(
        "shutdown timeout: jobs still in flight are abandoned; their leases expire and QStash redelivers",
        {
          in_flight: gate.inFlight,
          abandoned: deps.ledger.running(),
        },
      );
    // Each bounded: shutdown ends within worker.shutdown_timeout + 1 s.
    else await within(closed, 500);
    await within(
      store.close().catch(() => {}),
      500,
    );
    clearInterval(memoryTimer);
    logger.info("stopped", {
      signal,
      memory_limit_collections: memory?.collections,
      memory_limit_ms: memory?.collectedMs,
    });
    lines.flush();
    p.exit(0);
  };
  p.onSignal("SIGTERM", () => void shutdown("SIGTERM"));
  p.onSignal("SIGINT", () => void shutdown("SIGINT"));
  p.onSignal("SIGHUP", () => void reload(loaded));

  async function reload(from: LoadedConfig): Promise<void> {
    if (!from.file) {
      logger.warn("SIGHUP ignored: the config did not come from a file", { config: from.source });
      return;
    }
    try {
      const next = applyOverrides(loadConfig(await p.readFile(from.file), p.env, from.file), args);
      assertSafeToServe({ ...from, config: next });
      assertWritable(next, p);
      // What serve would refuse (a time zone, a channel, a template) is refused before anything of
      // the new config takes effect; the rest is built aside and swapped in only once all of it works.
      const refused = configRefusal(next, p.runtime);
      if (refused) throw refused;
      const sameStore = storeIdentity(next.store) === storeIdentity(deps.config.store);
      const was = deps;
      const old = store;
      const limitWas = gate.limit;
      const nextStore = sameStore ? store : storeFor(next.store, p);
      let built: { metrics: Metrics; logger: Deps["logger"]; deps: Deps; app: typeof app };
      try {
        const scopeChanged = next.worker.metrics !== deps.config.worker.metrics;
        const nextMetrics =
          scopeChanged || (!sameStore && next.worker.metrics === "store")
            ? metricsFor(next, nextStore)
            : metrics;
        // Lines carry the new worker.name (and log level) once swapped in.
        const nextLogger = loggerFor(next);
        const nextDeps = wire(next, nextStore, nextMetrics, nextLogger);
        built = { metrics: nextMetrics, logger: nextLogger, deps: nextDeps, app: createApp(nextDeps) };
      } catch (e) {
        gate.limit = limitWas;
        if (!sameStore) await nextStore.close().catch(() => {});
        throw e;
      }
      ({ metrics, logger, deps, app } = built);
      store = nextStore;
      if (!sameStore) warnHazards(store, () => logger);
      if (p.memory && next.worker.memory_limit !== memory?.limit)
        memory = new MemoryLimit(next.worker.memory_limit, p.memory);
      // Closed once the jobs that took their lease in it have finished: closing it under them
      // loses their records, and their pages go out again on the retry.
      if (!sameStore) whenIdle(was.ledger).then(() => old.close().catch(() => {}));
      if (next.worker.port !== config.worker.port || next.worker.host !== config.worker.host) {
        logger.warn("worker.host/port changes take effect on restart, not on SIGHUP");
      }
      logger.info("config reloaded", {
        config: from.file,
        families: mountedJobFamilies(deps),
        ...storeFields(store, next, !sameStore),
      });
      for (const w of configWarnings(next)) logger.warn("config warning", { ...w });
    } catch (e) {
      logger.error("config reload refused; the running config stays", {
        config: from.file,
        error: (e as Error).message,
      });
    }
  }
}

/**
 * The store as the start-up and reload lines name it: for SQLite also which file, and whether it
 * held no store yet — one opened afresh by mistake (deleted, another working directory, a new
 * store.path) runs answered messages again. A reload that kept the store opened nothing.
 */
function storeFields(store: Store, config: Config, opened = true): Record<string, unknown> {
  if (!(store instanceof SqliteStore)) return { store: store.kind };
  return { store: store.kind, store_path: config.store.path, store_created: opened && store.created };
}

/**
 * Logs a store that does not answer at start (a wrong password, a wrong address) — jobs would
 * only say so one by one — or, when it answers, each way its server is set up to break the
 * worker's promises (/health asks again once a minute, src/ops/health.ts).
 */
function warnHazards(store: Store, logger: () => Deps["logger"]): void {
  store
    .ping()
    .then(
      () => store.hazards?.(),
      (e) => {
        logger().error("store not reachable at start: jobs answer 503 store_unavailable until it is", {
          store: store.kind,
          error: e,
        });
        return [];
      },
    )
    .then((hazards) => {
      for (const hazard of hazards ?? []) logger().error("store hazard", { store: store.kind, hazard });
    })
    .catch(() => {});
}

/** Resolves once no job holds a lease in `ledger` (checked every 100 ms). */
function whenIdle(ledger: Deps["ledger"]): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (ledger.running().length === 0 ? resolve() : setTimeout(check, 100));
    check();
  });
}
