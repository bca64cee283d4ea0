/** The config-sync job's body (docs/config-sync.md): the operation, its rules or ids, the targets, dry_run. */
import { z } from "zod";
import { ruleId } from "./rule.ts";

export const configSyncJobSchema = z
  .strictObject({
    operation: z.enum(["create", "update", "delete", "full"]),
    /** create/update: upserted by id; full: the whole set (omit to fetch config_sync.source). */
    rules: z.array(z.unknown()).optional(),
    /** delete: the ids to remove. */
    rule_ids: z.array(ruleId(z.string().min(1))).optional(),
    /** Target names; default every configured target. */
    targets: z.array(z.string().min(1)).min(1).optional(),
    dry_run: z.boolean().default(false),
  })
  .superRefine((j, ctx) => {
    const need = (field: "rules" | "rule_ids") =>
      ctx.addIssue({ code: "custom", path: [field], message: `is required for operation ${j.operation}` });
    if ((j.operation === "create" || j.operation === "update") && !j.rules?.length) need("rules");
    if (j.operation === "delete" && !j.rule_ids?.length) need("rule_ids");
    if (j.operation === "delete" && j.rules)
      ctx.addIssue({ code: "custom", path: ["rules"], message: "delete takes rule_ids, not rules" });
    if (j.operation !== "delete" && j.rule_ids)
      ctx.addIssue({
        code: "custom",
        path: ["rule_ids"],
        message: `operation ${j.operation} takes rules, not rule_ids`,
      });
  });

export type SyncJob = z.output<typeof configSyncJobSchema>;
