/** Waiting on a promise with a bound: what it gives, or `fallback` once `ms` have passed. */
export function within<T, F = undefined>(p: Promise<T>, ms: number, fallback?: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<F>((resolve) => {
      timer = setTimeout(() => resolve(fallback as F), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
