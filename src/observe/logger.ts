/**
 * JSON-lines logger: one object per line (`ts, level, msg, name, …fields`). Children carry
 * context (family, message_id, retried) into every line. URL-shaped values are masked so a
 * webhook token or a Redis password never reaches a log.
 */
import { maskUrl } from "../config/mask.ts";

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(opts: {
  level?: Level;
  base?: Record<string, unknown>;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => console.log(line));
  const now = opts.now ?? (() => new Date());
  const make = (base: Record<string, unknown>): Logger => {
    const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < min) return;
      const rec: Record<string, unknown> = { ts: now().toISOString(), level, msg, ...base };
      if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) rec[k] = clean(v);
      write(JSON.stringify(rec));
    };
    return {
      debug: (m, f) => log("debug", m, f),
      info: (m, f) => log("info", m, f),
      warn: (m, f) => log("warn", m, f),
      error: (m, f) => log("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(opts.base ?? {});
}

function clean(v: unknown): unknown {
  if (typeof v === "string") return maskUrl(v);
  if (v instanceof Error) return maskUrl(v.message);
  return v;
}

/** A logger that drops everything (tests, `run`). */
export const silentLogger: Logger = createLogger({ write: () => {} });
