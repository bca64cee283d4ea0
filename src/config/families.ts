/** Which job families a worker mounts, from its config (README, "Command line"). */
import type { Config, Family } from "./schema.ts";

/** Families mounted for each worker type; failure callbacks are taken by every type. */
export const FAMILIES_BY_TYPE: Record<Config["worker"]["type"], readonly Family[]> = {
  general: ["analysis", "notification", "config-sync", "failure", "autoscale"],
  "ai-analysis": ["analysis", "failure"],
  notification: ["notification", "failure"],
  "config-sync": ["config-sync", "failure"],
};

/** `worker.families` (what `-queues=` sets) names the job families; failure callbacks come with any of them. */
export function mountedFamilies(config: Config): readonly Family[] {
  const named = config.worker.families;
  if (!named) return FAMILIES_BY_TYPE[config.worker.type];
  return named.includes("failure") ? named : [...named, "failure"];
}
