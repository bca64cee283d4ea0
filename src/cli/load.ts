/**
 * Where the CLI's config comes from (README, "Configuration"): --config FILE, else ALERTAGENT_CONFIG (YAML
 * text), else the embedded default; then the command-line overrides; then the rule that the
 * public dev keys are only for loopback.
 */
import { DEFAULT_CONFIG_YAML, isLoopback, usesDevKeys } from "../config/default.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import type { Deps } from "../jobs/deps.ts";
import { storeKindOf } from "../store/create.ts";
import { createLogger } from "../telemetry/logger.ts";
import { buildDeps, storeFor } from "../wire.ts";
import { type ParsedArgs, parseConcurrency, parsePort, parseQueues, UsageError } from "./args.ts";
import type { Platform } from "./platform.ts";

export interface LoadedConfig {
  config: Config;
  source: string;
  /** The file to re-read on SIGHUP, when there is one. */
  file?: string;
}

export async function loadCliConfig(args: ParsedArgs, p: Platform): Promise<LoadedConfig> {
  const file = args.flags.config;
  let text: string;
  let source: string;
  if (file && !args.dev) {
    try {
      text = await p.readFile(file);
    } catch (e) {
      throw new ConfigError(
        `--config ${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    source = file;
  } else if (p.env.ALERTAGENT_CONFIG && !args.dev) {
    text = p.env.ALERTAGENT_CONFIG;
    source = "ALERTAGENT_CONFIG";
  } else {
    if (args.dev && file)
      throw new UsageError("--dev runs the embedded default; it cannot be combined with --config");
    text = DEFAULT_CONFIG_YAML;
    source = "embedded default";
  }
  const config = applyOverrides(loadConfig(text, p.env, source), args);
  return { config, source, file: source === file ? file : undefined };
}

/** Command-line flags win over the file. */
export function applyOverrides(config: Config, args: ParsedArgs): Config {
  const f = args.flags;
  const worker = { ...config.worker };
  if (f.host) worker.host = f.host;
  if (f.port) worker.port = parsePort(f.port);
  if (f.name) worker.name = f.name;
  if (f.type) {
    const types = ["general", "ai-analysis", "notification", "config-sync"] as const;
    if (!(types as readonly string[]).includes(f.type))
      throw new UsageError(`--type: "${f.type}" is not one of ${types.join(", ")}`);
    worker.type = f.type as Config["worker"]["type"];
  }
  if (f.concurrency) worker.concurrency = parseConcurrency(f.concurrency);
  if (f.queues) worker.families = parseQueues(f.queues);
  return { ...config, worker };
}

/** The public development keys sign anything anyone can publish: refuse them off loopback. */
export function assertSafeToServe(loaded: LoadedConfig): void {
  const { config } = loaded;
  if (usesDevKeys(config.qstash) && !isLoopback(config.worker.host)) {
    throw new ConfigError(
      `refusing to serve on ${config.worker.host}: the ${loaded.source} uses QStash's public local-development signing keys, which anyone can sign with; listen on 127.0.0.1, or set your own qstash.current_signing_key/next_signing_key`,
      [{ path: "worker.host", message: "must be a loopback address with the development signing keys" }],
    );
  }
}

/**
 * Refuses a config that names files the runtime may not write (Deno run without --allow-write
 * for them): the store would fail to open, and every config sync to such a target would fail
 * with Deno's bare "NotCapable", hours after the start.
 */
export function assertWritable(config: Config, p: Pick<Platform, "mayWrite" | "openSqlite">): void {
  const mayWrite = p.mayWrite;
  if (!mayWrite) return;
  const files: { at: string; file: string }[] = [];
  if (storeKindOf(config.store, p.openSqlite) === "sqlite")
    files.push({ at: "store.path", file: config.store.path });
  for (const [name, t] of Object.entries(config.config_sync.targets))
    if (t.delivery.type === "file")
      files.push({ at: `config_sync.targets.${name}.delivery.path`, file: t.delivery.path });
  const refused = files.filter((f) => !mayWrite(f.file));
  if (refused.length === 0) return;
  const issues = refused.map((f) => ({
    path: f.at,
    message: `${f.file}: this runtime's permissions do not let the worker write in that file's directory`,
  }));
  throw new ConfigError(
    `${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}. On Deno, grant it with --allow-write=<the directory>, or start with scripts/deno-run, which allows writing anywhere but under /dev, /proc and /sys (Deno opens those only with --allow-all)`,
    issues,
  );
}

/** Deps for a one-shot command (run, plan): the configured store, logs on stderr. */
export function commandDeps(
  config: Config,
  p: Platform,
  level: Config["worker"]["log_level"] = config.worker.log_level,
): Deps {
  const store = storeFor(config.store, p);
  const logger = createLogger({
    level,
    base: { name: config.worker.name },
    write: (l) => p.stderr(`${l}\n`),
  });
  return buildDeps({
    config,
    store,
    metrics: p.newMetrics(store),
    runtime: p.runtime,
    logger,
    fs: p.fs,
    fetch: p.fetch,
    tcp: p.tcp,
  });
}
