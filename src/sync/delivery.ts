/**
 * Delivering one target's rendering: by its delivery type (file.ts, http.ts, mimir.ts),
 * each of which also reads the target back (verify.ts) and answers how it was verified, or
 * throws a JobError saying why the target does not have what was sent.
 */
import type { Deps } from "../deps.ts";
import { deliverFile } from "./file.ts";
import { deliverHttp } from "./http.ts";
import { checkMimir, deliverMimir } from "./mimir.ts";
import { originOf } from "./net.ts";
import type { Rendered, TargetConfig } from "./render.ts";
import { type Verification, verifyAlertmanager, verifyRules } from "./verify.ts";

export interface DeliveryInput {
  deps: Deps;
  name: string;
  target: TargetConfig;
  rendered: Rendered;
  /** Group names the target had from us before this delivery (what an http read-back may hold). */
  previousGroups: readonly string[];
}

export function deliver(d: DeliveryInput): Promise<Verification> {
  switch (d.target.delivery.type) {
    case "file":
      return deliverFile(d, d.target.delivery);
    case "http":
      return deliverHttp(d, d.target.delivery);
    case "mimir":
      return deliverMimir(d, d.target.delivery);
  }
}

/**
 * Reads a target back without delivering: after a failed attempt, a sync that finds the
 * target's recorded hash current again checks the target really runs it.
 */
export function recheck(d: DeliveryInput): Promise<Verification> {
  const delivery = d.target.delivery;
  switch (delivery.type) {
    case "file":
      return readBack(
        d,
        d.target.verify.url ?? originOf(delivery.reload_url),
        delivery.path.split("/").pop(),
      );
    case "http":
      return readBack(d, d.target.verify.url);
    case "mimir":
      return checkMimir(d, delivery);
  }
}

/** What a target without a read-back URL records: nothing to verify against, which is not a failure. */
export const UNVERIFIABLE =
  "not verified: set verify.url (or delivery.reload_url) so the worker can read the target back";

/** Reads a Prometheus, vmalert or Alertmanager API at `base` back; unverified without a base. */
export async function readBack(
  d: DeliveryInput,
  base: string | undefined,
  fileName?: string,
): Promise<Verification> {
  const { deps, target, rendered } = d;
  if (!base) {
    return {
      verified: false,
      how: UNVERIFIABLE,
    };
  }
  const timeoutMs = target.verify.timeout;
  if (target.kind === "alertmanager")
    return verifyAlertmanager(deps.fetch, deps.now, base, rendered.hash, timeoutMs);
  return verifyRules(deps.fetch, deps.now, {
    kind: target.kind,
    base,
    expected: rendered.groups,
    fileName,
    managed: new Set([...d.previousGroups, ...rendered.groups.map((g) => g.name)]),
    timeoutMs,
  });
}
