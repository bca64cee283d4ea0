/**
 * `run <family> JOB.json`: one job in-process through the same runner as HTTP (no signature:
 * the job comes from a local file), result JSON on stdout, logs on stderr.
 */
import { HANDLERS } from "../../handlers/index.ts";
import { FAMILIES, type Family } from "../config/schema.ts";
import { runJob } from "../jobs/runner.ts";
import { type ParsedArgs, UsageError } from "./args.ts";
import { assertWritable, commandDeps, loadCliConfig } from "./load.ts";
import type { Platform } from "./platform.ts";

export async function runOne(args: ParsedArgs, p: Platform): Promise<number> {
  const [familyArg, file] = args.positionals;
  if (!familyArg || !(FAMILIES as readonly string[]).includes(familyArg))
    throw new UsageError(`run: name a job family (${FAMILIES.join(", ")})`);
  const family = familyArg as Family;
  const handler = HANDLERS[family];
  if (!handler) throw new UsageError(`run: the ${family} family is not available in this version`);
  if (!file) throw new UsageError("run: name the JOB.json file to run");
  let body: string;
  try {
    body = await p.readFile(file, true);
  } catch (e) {
    throw new UsageError(
      `run: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const { config } = await loadCliConfig(args, p);
  assertWritable(config, p);
  const deps = commandDeps(config, p);
  const store = deps.store;
  try {
    const reply = await runJob(deps, handler, {
      family,
      body: new TextEncoder().encode(body),
      messageId: args.flags["message-id"],
      retried: 0,
      trusted: true,
    });
    p.stdout(`${JSON.stringify(reply.body, null, 2)}\n`);
    return reply.status === 200 ? 0 : 1;
  } finally {
    await store.close();
  }
}
