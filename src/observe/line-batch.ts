/**
 * Log lines written in batches: lines logged while the event loop is busy are joined and
 * written once, at the next turn of the loop (or when `maxLines` are waiting). One write per
 * batch instead of one per job — under load the per-line write cost more than the job's
 * JSON. `flush()` writes what waits now (shutdown, exit).
 */
export interface LineBatch {
  write(line: string): void;
  flush(): void;
}

export function lineBatch(out: (text: string) => void, maxLines = 512): LineBatch {
  let lines: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (lines.length === 0) return;
    const text = lines.join("");
    lines = [];
    out(text);
  };
  return {
    write(line) {
      lines.push(line);
      if (lines.length >= maxLines) flush();
      else if (timer === undefined) timer = setTimeout(flush, 0);
    },
    flush,
  };
}
