/**
 * Times and durations as an on-call engineer reads them: "2026-11-28 16:00:00 UTC+8" in the
 * configured time zone (worker.timezone), and compact durations ("2h 5m").
 */
import { formatDurationIn } from "./locale.ts";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows the IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/**
 * The zone's UTC offset in minutes at `ms`. Offsets only change on a quarter hour (UTC), so
 * one lookup (the slow formatToParts) serves a whole 15-minute slot.
 */
const QUARTER = 900_000;
const offsets = new Map<string, Map<number, number>>();
function offsetAt(ms: number, timeZone: string): number {
  let zone = offsets.get(timeZone);
  if (!zone) {
    zone = new Map();
    offsets.set(timeZone, zone);
  }
  const slot = Math.floor(ms / QUARTER);
  let off = zone.get(slot);
  if (off === undefined) {
    const p: Record<string, string> = {};
    for (const part of formatter(timeZone).formatToParts(slot * QUARTER)) p[part.type] = part.value;
    // Not Date.UTC: it reads years 0–99 as 1900–1999.
    const at = new Date(0);
    at.setUTCFullYear(+p.year, +p.month - 1, +p.day);
    at.setUTCHours(+p.hour, +p.minute, +p.second);
    const local = at.getTime();
    off = Math.round((local - slot * QUARTER) / 60_000);
    if (zone.size > 4096) zone.clear();
    zone.set(slot, off);
  }
  return off;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-11-28 16:00:00 UTC+8"; "" for a missing or unparsable time. */
export function formatTime(iso: string | number | undefined, timeZone: string): string {
  if (iso === undefined || iso === "") return "";
  const ms = typeof iso === "number" ? iso : Date.parse(iso);
  if (!Number.isFinite(ms)) return typeof iso === "string" ? iso : "";
  const off = offsetAt(ms, timeZone);
  const d = new Date(ms + off * 60_000);
  const abs = Math.abs(off);
  const zone =
    off === 0
      ? "UTC"
      : `UTC${off < 0 ? "-" : "+"}${Math.floor(abs / 60)}${abs % 60 ? `:${pad(abs % 60)}` : ""}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${zone}`;
}

/** "45s", "5m 30s", "2h 5m", "3d 4h". */
export function formatDuration(ms: number): string {
  return formatDurationIn(ms, "en");
}
