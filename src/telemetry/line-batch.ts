/**
 * Log lines written in batches: lines logged while jobs run are joined and written together,
 * at most once a millisecond (or when `maxLines` are waiting). One write per batch instead of
 * one per job — under load the per-line write cost more than the job's JSON. The timer is an
 * interval that runs while lines keep coming and stops at the first tick that finds none: on
 * Deno each job ends in its own turn of the loop, so a timer set per batch was set per line
 * (BENCHMARKS.md). Lines are appended to one string, each with its newline, and the runtime
 * flattens it once, when it is written. `flush()` writes what waits now (shutdown, exit).
 */
export interface LineBatch {
  /** One line, without its newline. */
  write(line: string): void;
  flush(): void;
}

export function lineBatch(out: (text: string) => void, maxLines = 512): LineBatch {
  let text = "";
  let count = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const writeOut = () => {
    const batch = text;
    text = "";
    count = 0;
    out(batch);
  };
  return {
    write(line) {
      text += `${line}\n`;
      if (++count >= maxLines) writeOut();
      else if (timer === undefined) timer = setInterval(() => (count === 0 ? stop() : writeOut()), 1);
    },
    flush() {
      stop();
      if (count > 0) writeOut();
    },
  };
}
