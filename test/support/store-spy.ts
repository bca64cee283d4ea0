/**
 * Stores that watch or break the calls a job makes, for tests of round trips and store failures:
 * `around` wraps every Store method; `waitCounting` counts the waits a job makes.
 */
import { storeUnavailable } from "../../src/errors.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/store.ts";

/**
 * `inner` with every method call passed through `wrap(method, call, args)`, which decides what
 * the caller gets (`call()` runs the real method).
 */
export function around(
  inner: Store,
  wrap: (method: string, call: () => unknown, args: unknown[]) => unknown,
): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) =>
        wrap(String(prop), () => (v as (...a: unknown[]) => unknown).apply(target, args), args);
    },
  });
}

/**
 * A store that answers every call after `delayMs` and counts the waits a job makes on it: a call
 * made after an answer came back starts a new wait; calls made before any answer came back ride
 * on the current one, as they do pipelined on Redis (scripts/bench/store-waits.ts measures the
 * same on a real Redis behind a delaying proxy).
 */
export function waitCounting(inner: Store, delayMs = 20) {
  let waits = 0;
  let answered = true;
  const store = around(inner, async (_method, call) => {
    if (answered) {
      waits++;
      answered = false;
    }
    try {
      await new Promise((r) => setTimeout(r, delayMs));
      return await call();
    } finally {
      answered = true;
    }
  });
  return { store, waits: () => waits };
}

/** How a store call fails: refused, run with its answer lost, or a bug (a plain Error). */
export type Fault = "refused" | "answer lost" | "bug";

/** A memory store whose first call `match` picks fails as `fault` (refused: store_unavailable). */
export function failingOnce(fault: Fault, match: (method: string, args: unknown[]) => boolean): Store {
  let armed = true;
  return around(new MemoryStore(), async (method, call, args) => {
    if (!armed || !match(method, args)) return call();
    armed = false;
    if (fault === "bug") throw new Error("a bug in the worker");
    if (fault === "answer lost") await call();
    throw storeUnavailable(new Error("connection reset"));
  });
}
