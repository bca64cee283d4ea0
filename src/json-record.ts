/**
 * A JSON object as a zod record. JSON can carry `__proto__` as a key; a plain object swallows
 * it (the key vanishes without a word), so it is refused by name instead. Other names that
 * objects know (`constructor`, `toString`) stay ordinary keys.
 */
import { z } from "zod";

export function jsonRecord<V extends z.ZodType>(value: V, what: string) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (v && typeof v === "object" && Object.hasOwn(v, "__proto__"))
        ctx.addIssue({
          code: "custom",
          path: ["__proto__"],
          message: `"__proto__" cannot be ${what} name (names starting with __ are reserved)`,
        });
    })
    .pipe(z.record(z.string(), value));
}

/** How deep free JSON (a notification's `data`) may nest: templates and JSON.stringify recurse. */
export const MAX_JSON_DEPTH = 64;

/** Whether `v` nests deeper than `max` arrays and objects, found without recursion. */
function nestsDeeper(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [value, depth] = top;
    if (!value || typeof value !== "object") continue;
    if (depth >= max) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A JSON object of any shape, nested at most MAX_JSON_DEPTH deep (a 489 naming the field, not a stack overflow later). */
export function freeJson() {
  return z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
    if (nestsDeeper(v, MAX_JSON_DEPTH))
      ctx.addIssue({ code: "custom", message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
  });
}
