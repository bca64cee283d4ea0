/**
 * A store that answers every call after `delayMs` and counts the waits a job makes on it: a call
 * made after an answer came back starts a new wait; calls made before any answer came back ride
 * on the current one, as they do pipelined on Redis (scripts/bench/store-waits.ts measures the
 * same on a real Redis behind a delaying proxy).
 */
import type { Store } from "../../src/store/store.ts";

export function waitCounting(inner: Store, delayMs = 20) {
  let waits = 0;
  let answered = true;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        if (answered) {
          waits++;
          answered = false;
        }
        try {
          await new Promise((r) => setTimeout(r, delayMs));
          return await (v as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          answered = true;
        }
      };
    },
  });
  return { store, waits: () => waits };
}
