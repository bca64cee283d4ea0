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
