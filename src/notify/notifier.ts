/**
 * The notifier of a worker: its channels, templates, rate limiter and delivery records, built
 * once per Deps (at start-up: createApp registers the notification routes, which builds it, so
 * a bad channel refuses the worker before it serves) and reused by every job.
 */
import type { Config } from "../config/schema.ts";
import type { Deps } from "../deps.ts";
import { ConfigError } from "../errors.ts";
import type { Channel } from "./channels/channel.ts";
import { buildChannels } from "./channels/index.ts";
import type { Locale } from "./locale.ts";
import { RateLimiter } from "./rate-limit.ts";
import { Records } from "./records.ts";
import { checkTemplates } from "./templates.ts";
import { isTimeZone } from "./time.ts";
import { buildView, type GroupView, type NotifyInput } from "./view.ts";

export interface Notifier {
  channels: Map<string, Channel>;
  templates: Config["templates"];
  timezone: string;
  /** worker.silence_labels: what a Silence link filters on (undefined: groupLabels and instance). */
  silenceLabels?: readonly string[];
  /** worker.locale: the words of every channel without a `locale` of its own. */
  locale: Locale;
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
      locale: config.worker.locale,
      limiter: new RateLimiter(deps.store, deps.now),
      records: new Records(deps.store, config.store.retention),
    };
    built.set(deps, n);
  }
  return n;
}

/**
 * The group's view in each channel's locale (its `locale`, else worker.locale, else `locale`
 * given here), built once per locale and job; undefined for free `data`.
 */
export function viewsOf(
  n: Notifier,
  input: NotifyInput,
  now: number,
  locale?: Locale,
): (ch?: Channel) => GroupView | undefined {
  if (input.kind !== "alerts") return () => undefined;
  const views = new Map<Locale, GroupView>();
  return (ch) => {
    const l = locale ?? ch?.cfg.locale ?? n.locale;
    let v = views.get(l);
    if (!v) {
      v = buildView(input, { timezone: n.timezone, silenceLabels: n.silenceLabels, now, locale: l });
      views.set(l, v);
    }
    return v;
  };
}
