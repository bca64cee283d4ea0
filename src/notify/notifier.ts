/**
 * The notifier of a worker: its channels, templates, rate limiter and delivery records, built
 * once by buildDeps (src/wire.ts) and reused by every job.
 */
import type { Config } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import type { Services } from "../services.ts";
import type { Channel } from "./channels/channel.ts";
import { buildChannels } from "./channels/index.ts";
import { type Locale, WORDS, type Words } from "./locale.ts";
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

/** Throws ConfigError when worker.timezone is not one this runtime knows. */
export function checkTimeZone(config: Config): void {
  if (!isTimeZone(config.worker.timezone))
    throw new ConfigError(`worker.timezone: "${config.worker.timezone}" is not an IANA time zone`, [
      { path: "worker.timezone", message: "not an IANA time zone (e.g. UTC, Asia/Shanghai)" },
    ]);
}

/** The notifier of these services; throws ConfigError when the channels cannot work here. */
export function buildNotifier(s: Services): Notifier {
  const { config } = s;
  checkTimeZone(config);
  checkTemplates(config.templates);
  return {
    channels: buildChannels(config, { tcp: s.tcp, runtime: s.runtime }),
    templates: config.templates,
    timezone: config.worker.timezone,
    silenceLabels: config.worker.silence_labels,
    locale: config.worker.locale,
    limiter: new RateLimiter(s.store, s.now),
    records: new Records(s.store, config.store.retention),
  };
}

/** The words of a channel's locale (its `locale`, else worker.locale), for text with no group view. */
export const wordsOf = (n: Notifier, ch: Channel): Words => WORDS[ch.cfg.locale ?? n.locale];

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
