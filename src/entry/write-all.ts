/**
 * Writing the CLI's and the logs' text to stdout or stderr whole, before the call returns (the
 * Bun and Deno entries). `write` may take part of the bytes, or throw EAGAIN on a pipe another
 * process left non-blocking (any earlier Bun process on the same pipe does): the rest waits a
 * millisecond while the pipe is full. At most PIPE_BUF (4096) bytes go at a time, which a pipe
 * takes whole or not at all: Deno's writeSync may write part of a longer chunk and then throw, its
 * count lost (the part would go twice). A reader that went away (EPIPE: `serve | head`) drops the
 * rest rather than stopping the worker.
 */

const PIPE_BUF = 4096;

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
const encoder = new TextEncoder();

/** EAGAIN as node:fs (Bun) and Deno report it. */
const full = (e: unknown) =>
  (e as { code?: unknown })?.code === "EAGAIN" || (e as Error)?.name === "WouldBlock";
/** EPIPE as node:fs (Bun) and Deno report it. */
const gone = (e: unknown) =>
  (e as { code?: unknown })?.code === "EPIPE" || (e as Error)?.name === "BrokenPipe";

export function writeAll(write: (bytes: Uint8Array) => number, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += write(bytes.subarray(off, off + PIPE_BUF));
    } catch (e) {
      if (gone(e)) return;
      if (!full(e)) throw e;
      Atomics.wait(SLEEPER, 0, 0, 1);
    }
  }
}
