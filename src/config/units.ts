/**
 * Units used across the config: durations ("30s", "5m", "7d", "1h30m", or plain ms numbers),
 * sizes ("1mb", "512kb", or plain bytes) and rates ("20/min").
 */
import { z } from "zod";

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};
const RATE_PERIODS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

/** Parses "1h30m", "5s", "250ms" into milliseconds; undefined when it does not parse. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(s)) return /^\d+$/.test(s) ? Number(s) : undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] || "b").toLowerCase()];
  return unit ? Math.floor(Number(m[1]) * unit) : undefined;
}

export interface Rate {
  limit: number;
  periodMs: number;
}

export function parseRate(text: string): Rate | undefined {
  const m = /^(\d+)\s*\/\s*(\d*)\s*([a-z]+)$/i.exec(text.trim());
  if (!m) return undefined;
  const period = RATE_PERIODS[m[3].toLowerCase()];
  if (!period || Number(m[1]) <= 0) return undefined;
  return { limit: Number(m[1]), periodMs: period * (m[2] ? Number(m[2]) : 1) };
}

/** A duration in config: "30s" or a number of milliseconds; becomes ms. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === "number") return v;
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${v}" is not a duration (use e.g. 500ms, 30s, 5m, 7d)` });
    return z.NEVER;
  }
  return ms;
});

/** A duration that must be more than zero (a lease or a retention of 0 would never expire, or expire at once). */
export const positiveDuration = duration.refine((ms) => ms > 0, "must be more than 0 (use e.g. 30s)");

/** A size field: a number of bytes or "1mb"; becomes bytes. `off` (and 0) allowed where it says so. */
function sizeField(allowOff: boolean) {
  const hint = allowOff ? "use e.g. 128mb, or off" : "use e.g. 512kb, 1mb";
  const bytes = z
    .number()
    .int()
    .min(allowOff ? 0 : 1);
  return z.union([bytes, z.string()]).transform((v, ctx) => {
    if (typeof v === "number") return v;
    const b = allowOff && v.trim() === "off" ? 0 : parseSize(v);
    if (b === undefined || (b <= 0 && !allowOff)) {
      ctx.addIssue({ code: "custom", message: `"${v}" is not a size (${hint})` });
      return z.NEVER;
    }
    return b;
  });
}

/** A size in config: "1mb" or a number of bytes; becomes bytes. */
export const size = sizeField(false);
/** A size, or `off` / 0 for none. */
export const sizeOrOff = sizeField(true);

/** A rate in config: "20/min", "5/s", "100/10m". */
export const rate = z.string().transform((v, ctx) => {
  const r = parseRate(v);
  if (!r) {
    ctx.addIssue({ code: "custom", message: `"${v}" is not a rate (use e.g. 20/min, 5/s)` });
    return z.NEVER;
  }
  return r;
});
