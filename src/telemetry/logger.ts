/**
 * JSON-lines logger: one object per line (`ts, level, msg, …context, …fields`). Children carry
 * context (family, message_id, retried) into every line; a logger serialises its context
 * once, when it is made, so a line costs only its own fields. URLs in values (nested ones too)
 * and secret-named fields are masked, so a webhook token or a Redis password never reaches a log.
 */

import { isoAt } from "../iso-time.ts";
import { maskedCopy, maskText } from "../mask.ts";

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Keys every line starts with; a field of the same name replaces it (the slow path). */
const HEAD = new Set(["ts", "level", "msg"]);

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Writes text for a person, as it is, among the log lines (the console channel). */
  print(text: string): void;
}

export function createLogger(opts: {
  level?: Level;
  base?: Record<string, unknown>;
  write?: (line: string) => void;
  /** Where `print` goes; the same place as the lines by default. */
  print?: (text: string) => void;
  now?: () => Date;
}): Logger {
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => console.log(line));
  const print = opts.print ?? write;
  const now = opts.now;
  const stamp = now ? () => now().toISOString() : () => isoAt(Date.now());
  const make = (context: Record<string, unknown>): Logger => {
    // `,"name":"…","family":"…"`: the context as it ends every line of this logger.
    const bound = JSON.stringify(context).slice(1, -1);
    const tail = bound ? `,${bound}` : "";
    const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < min) return;
      const head = `{"ts":"${stamp()}","level":"${level}","msg":${JSON.stringify(msg)}`;
      let own: Record<string, unknown> | undefined;
      for (const k in fields) {
        const v = fields[k];
        if (v === undefined) continue;
        if (HEAD.has(k) || Object.hasOwn(context, k)) {
          // A field that names a context key replaces it in place: build the whole line.
          write(JSON.stringify({ ts: stamp(), level, msg, ...context, ...cleaned(fields) }));
          return;
        }
        if (own === undefined) own = {};
        own[k] = clean(v);
      }
      write(own ? `${head}${tail},${JSON.stringify(own).slice(1)}` : `${head}${tail}}`);
    };
    return {
      debug: (m, f) => log("debug", m, f),
      info: (m, f) => log("info", m, f),
      warn: (m, f) => log("warn", m, f),
      error: (m, f) => log("error", m, f),
      child: (fields) => make({ ...context, ...cleaned(fields) }),
      print,
    };
  };
  return make(cleaned(opts.base ?? {}));
}

function cleaned(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in fields) if (fields[k] !== undefined) out[k] = clean(fields[k]);
  return out;
}

function clean(v: unknown): unknown {
  if (typeof v === "string") return maskText(v);
  if (v instanceof Error) return maskText(v.message);
  // Nested fields (a robot's answer, an error's details) are masked all the way down.
  if (v && typeof v === "object") return maskedCopy(v);
  return v;
}

/** A logger that drops everything (tests, `run`). */
export const silentLogger: Logger = createLogger({ write: () => {} });
