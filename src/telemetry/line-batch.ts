/**
 * Log lines written in batches: lines logged while the event loop is busy are joined and
 * written once, at the next turn of the loop (or when `maxLines` are waiting). One write per
 * batch instead of one per job — under load the per-line write cost more than the job's
 * JSON. Lines are appended to one string, each with its newline, and the runtime flattens it
 * once, when it is written. `flush()` writes what waits now (shutdown, exit).
 */
export interface LineBatch {
  /** One line, without its newline. */
  write(line: string): void;
  flush(): void;
}

export function lineBatch(out: (text: string) => void, maxLines = 512): LineBatch {
  let text = "";
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (count === 0) return;
    const batch = text;
    text = "";
    count = 0;
    out(batch);
  };
  return {
    write(line) {
      text += `${line}\n`;
      if (++count >= maxLines) flush();
      else if (timer === undefined) timer = setTimeout(flush, 0);
    },
    flush,
  };
}
