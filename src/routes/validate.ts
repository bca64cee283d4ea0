/**
 * Request validation for the /v1 routes' params and queries through @hono/zod-validator, answering
 * the worker's one problem shape: 400 with `details: [{path, message}]` naming each bad field.
 * (Job routes validate after the signature check, which needs the raw body: src/jobs/runner.ts;
 * the preview parses its body itself: src/routes/notifications.ts says why.)
 */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { invalid, tooLarge, zodIssues } from "../errors.ts";
import { MAX_MESSAGE_ID } from "../jobs/runner.ts";

export function valid<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: S) {
  return zValidator(target, schema, (result) => {
    if (result.success) return;
    const details = zodIssues(result.error);
    throw invalid(
      `invalid_${target === "json" ? "body" : target}`,
      details.map((d) => `${d.path || target}: ${d.message}`).join("; "),
      details,
    );
  });
}

/** A path parameter: an id, as anything that names a message or an alert. */
export const idParam = <K extends string>(name: K) =>
  z.object({ [name]: z.string().min(1).max(MAX_MESSAGE_ID) } as Record<K, z.ZodString>);

/**
 * A text query parameter, given once: a repeated one (`?target=a&target=b`) arrives as a list,
 * which zod would report as "expected string, received array".
 */
export const queryText = () => z.string({ error: "give it once" }).min(1, "must not be empty");

/**
 * A whole-number query parameter within [min, max], given once. One message for every way it can
 * be wrong (`-1`, `ten`, `1e30`), not zod's "received NaN" or its safe-integer bound.
 */
export const queryInt = (min: number, max: number) => {
  const said = `must be a whole number from ${min} to ${max}`;
  return queryText().regex(/^\d+$/, said).transform(Number).pipe(z.number().min(min, said).max(max, said));
};

/** The jobs' body limit for a /v1 route that takes a body (worker.body_limit): 413 past it. */
export const limitBody = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw tooLarge(maxSize, "too_large");
    },
  });
