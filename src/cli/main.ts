/**
 * The CLI (README, "Command line"): dispatches to serve, check-config, run and publish; maps errors to exit
 * codes (0 ok, 1 runtime failure, 2 usage or config error) with a one-line reason on stderr.
 */
import { stringify } from "yaml";
import { configWarnings } from "../config/warnings.ts";
import { ConfigError } from "../errors.ts";
import { maskSecrets } from "../mask.ts";
import { DEFAULT_JOB, selfRulesTestsYaml, selfRulesYaml } from "../telemetry/self-rules.ts";
import { VERSION } from "../version.ts";
import { asOnWorkers, configRefusal, workersRefusal, workersWarnings } from "../wire.ts";
import { HELP, parseArgs, UsageError } from "./args.ts";
import { assertWritable, loadCliConfig } from "./load.ts";
import { plan } from "./plan.ts";
import type { Platform } from "./platform.ts";
import { publish } from "./publish.ts";
import { setupQstashCommand } from "./qstash-setup.ts";
import { runOne } from "./run.ts";
import { serve } from "./serve.ts";

/** The file name `self-rules --tests` expects the rules under (README, "Push-model scaling"). */
const SELF_RULES_FILE = "alertagent-self.rules.yml";

export async function main(argv: string[], p: Platform, startedAt = Date.now()): Promise<void> {
  const code = await dispatch(argv, p, startedAt);
  // serve returns undefined and keeps running; everything else exits with its code.
  if (code !== undefined) p.exit(code);
}

async function dispatch(argv: string[], p: Platform, startedAt: number): Promise<number | undefined> {
  try {
    const args = parseArgs(argv);
    if (args.version) {
      p.stdout(`alertagent-worker ${VERSION} (${p.runtime})\n`);
      return 0;
    }
    if (args.help) {
      p.stdout(`${HELP}\n`);
      return 0;
    }
    switch (args.command) {
      case "serve":
        await serve(args, p, startedAt);
        return undefined;
      case "check-config": {
        const { config, source } = await loadCliConfig(args, p);
        assertWritable(config, p);
        const refused = args.workers ? workersRefusal(config) : configRefusal(config, p.runtime);
        if (refused) throw refused;
        const warnings = [...configWarnings(config), ...(args.workers ? workersWarnings(config) : [])].map(
          (w) => `# warning: ${w.path} ${w.message}\n`,
        );
        const shown = args.workers ? asOnWorkers(config) : config;
        p.stdout(`# ${source}: valid\n${warnings.join("")}${stringify(maskSecrets(shown))}`);
        return 0;
      }
      case "plan":
        return await plan(args, p);
      case "run":
        return await runOne(args, p);
      case "publish":
        return await publish(args, p);
      case "setup-qstash":
        return await setupQstashCommand(args, p);
      case "self-rules": {
        const job = { job: args.flags.job };
        p.stdout(
          args.tests
            ? `# promtool tests of the self-rules: save \`self-rules\` as ${SELF_RULES_FILE} beside this file, then run: promtool test rules <this file>\n${selfRulesTestsYaml(SELF_RULES_FILE, job)}`
            : `# save as ${SELF_RULES_FILE} (the name \`self-rules --tests\` loads) and add it to Prometheus's rule_files; they select the scrape job "${job.job ?? DEFAULT_JOB}" (--job to change)\n${selfRulesYaml(job)}`,
        );
        return 0;
      }
    }
  } catch (e) {
    if (e instanceof UsageError) {
      p.stderr(`alertagent-worker: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      p.stderr(`alertagent-worker: config error: ${e.message}\n`);
      return 2;
    }
    p.stderr(`alertagent-worker: ${(e as Error).message ?? e}\n`);
    return 1;
  }
}
