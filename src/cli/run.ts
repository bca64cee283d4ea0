/**
 * `run <family> JOB.json`: one job in-process through the same runner as HTTP (no signature:
 * the job comes from a local file), result JSON on stdout, logs on stderr.
 */
import { HANDLERS } from "../../handlers/index.ts";
import { FAMILIES, type Family } from "../config/schema.ts";
import { runJob } from "../jobs/runner.ts";
import { createLogger } from "../observe/logger.ts";
import { createStore } from "../store/create.ts";
import { buildDeps } from "../wire.ts";
import { type ParsedArgs, UsageError } from "./args.ts";
import { loadCliConfig } from "./load.ts";
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
    body = await p.readFile(file);
  } catch {
    throw new UsageError(`run: cannot read ${file}`);
  }
  const { config } = await loadCliConfig(args, p);
  const store = createStore(config.store, { tcp: true, runtime: p.runtime });
  const logger = createLogger({
    level: config.worker.log_level,
    base: { name: config.worker.name },
    write: (l) => p.stderr(`${l}\n`),
  });
  const deps = buildDeps({
    config,
    store,
    metrics: p.newMetrics(store),
    runtime: p.runtime,
    logger,
    fs: p.fs,
  });
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
