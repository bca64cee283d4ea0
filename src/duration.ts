/** The one human duration formatter: the two largest units, in the words given (a locale's or an analysis language's). */

export interface DurationWords {
  s: string;
  m: string;
  h: string;
  d: string;
  /** Between the two units ("2h 5m", "2小时5分"). */
  sep: string;
}

/** "45s", "5m 30s", "2h 5m", "3d 4h" (or their translations); "" for a negative or unknown span. */
export function formatDuration(ms: number, u: DurationWords): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  const two = (a: number, ua: string, b: number, ub: string) =>
    b ? `${a}${ua}${u.sep}${b}${ub}` : `${a}${ua}`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}${u.s}`;
  const m = Math.floor(s / 60);
  if (m < 60) return two(m, u.m, s % 60, u.s);
  const h = Math.floor(m / 60);
  if (h < 24) return two(h, u.h, m % 60, u.m);
  const d = Math.floor(h / 24);
  return two(d, u.d, h % 24, u.h);
}
