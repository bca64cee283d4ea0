/**
 * Command-line parsing (README, "Command line"): `cmd [positionals] [--flag value | --flag=value]`, and
 * the old Go worker's single-dash form (`-name=ai-worker-1 -type=ai-analysis -queues=…`)
 * verbatim. Unknown flags are usage errors.
 */
import { FAMILIES, type Family } from "../config/schema.ts";

export class UsageError extends Error {
  override name = "UsageError";
}

export const COMMANDS = [
  "serve",
  "check-config",
  "run",
  "publish",
  "setup-qstash",
  "self-rules",
  "plan",
] as const;
export type Command = (typeof COMMANDS)[number];

const VALUE_FLAGS = [
  "config",
  "host",
  "port",
  "name",
  "type",
  "concurrency",
  "queues",
  "to",
  "message-id",
  "target",
  "job",
] as const;
const BOOL_FLAGS = ["dev", "help", "version", "qstash", "tests", "reset", "dry-run", "workers"] as const;

export interface ParsedArgs {
  command: Command;
  positionals: string[];
  flags: Partial<Record<(typeof VALUE_FLAGS)[number], string>>;
  dev: boolean;
  help: boolean;
  version: boolean;
  qstash: boolean;
  tests: boolean;
  reset: boolean;
  "dry-run": boolean;
  workers: boolean;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = {
    command: "serve",
    positionals: [],
    flags: {},
    dev: false,
    help: false,
    version: false,
    qstash: false,
    tests: false,
    reset: false,
    "dry-run": false,
    workers: false,
  };
  let commandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === "-h") {
      out.help = true;
      continue;
    }
    if (tok.startsWith("-") && tok !== "-") {
      const [rawName, inline] = splitOnce(tok.replace(/^--?/, ""), "=");
      const name = rawName.toLowerCase();
      if ((BOOL_FLAGS as readonly string[]).includes(name)) {
        if (inline !== undefined && !/^(true|false)$/.test(inline))
          throw new UsageError(`--${name} takes no value`);
        out[name as (typeof BOOL_FLAGS)[number]] = inline !== "false";
        continue;
      }
      if (!(VALUE_FLAGS as readonly string[]).includes(name))
        throw new UsageError(`unknown flag ${tok} (see --help)`);
      const value = inline ?? argv[++i];
      if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
      out.flags[name as (typeof VALUE_FLAGS)[number]] = value;
      continue;
    }
    if (!commandSeen && (COMMANDS as readonly string[]).includes(tok)) {
      out.command = tok as Command;
      commandSeen = true;
      continue;
    }
    if (!commandSeen && out.positionals.length === 0 && /^[a-z-]+$/.test(tok))
      throw new UsageError(`unknown command "${tok}" (see --help)`);
    out.positionals.push(tok);
  }
  // An argument a command does not take is refused, not ignored: `serve /etc/worker.yaml` ran the
  // embedded default, loopback only, with every page going to the console.
  const extra = out.positionals[POSITIONALS[out.command]];
  if (extra !== undefined)
    throw new UsageError(
      `${out.command}: unexpected argument "${extra}"${/\.(ya?ml|json)$|\//.test(extra) && out.command !== "run" && out.command !== "publish" ? ` (a config goes after --config: --config ${extra})` : ""}`,
    );
  return out;
}

/** How many plain arguments each command takes (run and publish: the family and the job file). */
const POSITIONALS: Record<Command, number> = {
  serve: 0,
  "check-config": 0,
  run: 2,
  publish: 2,
  "setup-qstash": 0,
  "self-rules": 0,
  plan: 0,
};

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** `-queues=ai_analysis,notification` → families (the old queue names and the route names both work). */
export function parseQueues(text: string): Family[] {
  return text.split(",").map((raw) => {
    const q = raw.trim().toLowerCase().replace(/_/g, "-");
    const name = q === "ai-analysis" ? "analysis" : q === "notifications" ? "notification" : q;
    if (!(FAMILIES as readonly string[]).includes(name))
      throw new UsageError(`-queues: unknown job family "${raw}" (use ${FAMILIES.join(", ")})`);
    return name as Family;
  });
}

export function parsePort(text: string): number {
  // Digits only: Number() reads " " as 0, "0x50" as 80 and "1e3" as 1000.
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--port: "${text}" is not a port number`);
  return n;
}

export function parseConcurrency(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--concurrency: "${text}" is not a positive whole number`);
  return n;
}

export const HELP = `alertagent-worker — AlertAgent's push-first job worker (QStash → HTTP)

Usage:
  alertagent-worker [serve] [--config FILE] [--host H] [--port N] [--name NAME]
                    [--type ai-analysis|notification|config-sync|general] [--concurrency N] [--dev]
  alertagent-worker check-config [--config FILE] [--workers]
                                                      print the normalised config, secrets masked
                                                      (--workers: refuse what a Cloudflare Worker would)
  alertagent-worker run <family> JOB.json            run one job in-process, result JSON to stdout
  alertagent-worker publish <family> JOB.json [--to URL] [--qstash] [--message-id ID]
                                                      sign and POST a job to a worker (or via QStash)
  alertagent-worker setup-qstash [--reset] [--dry-run]  apply flow control and schedules in QStash; print publish recipes
  alertagent-worker self-rules [--tests] [--job NAME]  Prometheus alert rules for the worker itself, scraped
                                                      under job NAME (default alertagent-worker; --tests: promtool tests)
  alertagent-worker plan [--target NAME]             config-sync diff per target against what was applied
  alertagent-worker --version | --help

Families: analysis, notification, config-sync, failure, autoscale.
The Go-style flags work as well: -name=ai-worker-1 -type=ai-analysis -concurrency=2 -queues=ai_analysis
Config: --config FILE, else $ALERTAGENT_CONFIG (YAML text), else the embedded default (loopback only).
Signals: SIGTERM/SIGINT finish in-flight jobs and exit 0; SIGHUP re-reads --config.
Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.`;
