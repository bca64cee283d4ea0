/**
 * Handing work over at the end of the event loop's turn, together (the Bun entry; the Deno
 * entry batches its answers the same way). Two places
 * pay a thread wake-up per item when items go one at a time while jobs run:
 * - each outbound request wakes Bun's HTTP client thread (a futex, and on a VM an interrupt
 *   to another CPU);
 * - each answer written to a socket wakes the client's thread that waits for it, when that
 *   client is on the same host (a load generator, a sidecar proxy).
 * Deferred to one setImmediate, the requests and the answers of one turn go out together and
 * share the wake-ups (the gain: BENCHMARKS.md). The cost is latency of one turn of the loop.
 */
import type { Fetch } from "../ports.ts";

/** Runs each given function at the end of the current turn, all in one batch, in order. */
export function turnBatcher(): (run: () => void) => void {
  let waiting: (() => void)[] = [];
  const runAll = () => {
    const now = waiting;
    waiting = [];
    for (const run of now) run();
  };
  return (run) => {
    if (waiting.push(run) === 1) setImmediate(runAll);
  };
}

/** A fetch whose requests start at the end of the turn they were made in, together. */
export function turnBatchedFetch(fetch: Fetch): Fetch {
  const later = turnBatcher();
  return (input, init) =>
    new Promise<Response>((resolve, reject) =>
      later(() => fetchNow(fetch, input, init).then(resolve, reject)),
    );
}

/** A request handler whose answers are handed to the server at the end of the turn, together. */
export function turnBatchedAnswers(
  handle: (req: Request) => Response | Promise<Response>,
): (req: Request) => Promise<Response> {
  const later = turnBatcher();
  return async (req) => {
    const res = await handle(req);
    return new Promise<Response>((resolve) => later(() => resolve(res)));
  };
}

/** fetch as a promise even when it throws synchronously (a bad URL, a bad init). */
function fetchNow(fetch: Fetch, input: Parameters<Fetch>[0], init: Parameters<Fetch>[1]): Promise<Response> {
  try {
    return fetch(input, init);
  } catch (e) {
    return Promise.reject(e);
  }
}
