/**
 * The notifier of a worker: its channels, templates, rate limiter and delivery records, built
 * once per Deps (at start-up: createApp registers the notification routes, which builds it, so
 * a bad channel refuses the worker before it serves) and reused by every job.
 */
import type { Config } from "../config/schema.ts";
import type { Deps } from "../deps.ts";
import { ConfigError } from "../errors.ts";
import type { Channel } from "./channel.ts";
import { buildChannels } from "./channels.ts";
import { RateLimiter } from "./rate-limit.ts";
import { Records } from "./records.ts";
import { checkTemplates } from "./templates.ts";
import { isTimeZone } from "./time.ts";

export interface Notifier {
  channels: Map<string, Channel>;
  templates: Config["templates"];
  timezone: string;
  /** worker.silence_labels: what a Silence link filters on (undefined: groupLabels and instance). */
  silenceLabels?: readonly string[];
  limiter: RateLimiter;
  records: Records;
}

const built = new WeakMap<Deps, Notifier>();

/** The notifier for these Deps; throws ConfigError when the channels cannot work here. */
export function notifierFor(deps: Deps): Notifier {
  let n = built.get(deps);
  if (!n) {
    const { config } = deps;
    if (!isTimeZone(config.worker.timezone))
      throw new ConfigError(`worker.timezone: "${config.worker.timezone}" is not an IANA time zone`, [
        { path: "worker.timezone", message: "not an IANA time zone (e.g. UTC, Asia/Shanghai)" },
      ]);
    checkTemplates(config.templates);
    n = {
      channels: buildChannels(config, { tcp: deps.tcp, runtime: deps.runtime }),
      templates: config.templates,
      timezone: config.worker.timezone,
      silenceLabels: config.worker.silence_labels,
      limiter: new RateLimiter(deps.store, deps.now),
      records: new Records(deps.store, config.store.retention),
    };
    built.set(deps, n);
  }
  return n;
}
