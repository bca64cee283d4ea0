/**
 * The notification read and admin routes (README, "Operations"), registered by createApp under /v1
 * (behind the admin token): GET /v1/notifications/:messageId and POST /v1/templates/preview.
 * Registering builds the notifier, so a channel that cannot work here refuses the worker at
 * start-up (a ConfigError) rather than at send time.
 */
import type { Hono } from "hono";
import { invalid, notFound, zodIssues } from "../errors.ts";
import type { Deps } from "../jobs/deps.ts";
import { previewSchema, previewTemplates } from "../notify/preview.ts";
import { idParam, limitBody, valid } from "./validate.ts";

export function registerNotificationRoutes(app: Hono, deps: Deps): void {
  const n = deps.notifier;
  app.get("/v1/notifications/:messageId", valid("param", idParam("messageId")), async (c) => {
    const id = c.req.valid("param").messageId;
    const record = await n.records.get(id);
    if (record) return c.json(record);
    // The index is written with the job's answer: until then, a running job says so (not 404).
    const job = await deps.ledger.get(id);
    if (job?.family === "notification" && job.status === "processing")
      return c.json({ message_id: id, status: "processing", received_at: job.received_at, deliveries: [] });
    throw notFound(`notification ${id}`);
  });
  // The jobs' body limit, then the preview's schema. The body is parsed here, not by the JSON
  // validator, which skips a body not declared application/json (curl -d sends a form type).
  app.post("/v1/templates/preview", limitBody(deps.config.worker.body_limit), async (c) => {
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw invalid("invalid_json", "the body is not valid JSON");
    }
    const parsed = previewSchema.safeParse(body);
    if (!parsed.success)
      throw invalid("invalid_body", "the preview request is not valid", zodIssues(parsed.error));
    return c.json(await previewTemplates(deps, n, parsed.data));
  });
}
