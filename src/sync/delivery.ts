/**
 * Delivering one target's rendering: by its delivery type (file.ts, http.ts, mimir.ts),
 * each of which also reads the target back (verify.ts) and answers how it was verified, or
 * throws a JobError saying why the target does not have what was sent.
 */

import type { Services } from "../services.ts";
import { deliverFile, fileHolds } from "./file.ts";
import { deliverHttp } from "./http.ts";
import { deliverMimir } from "./mimir.ts";
import { type DeliveryInput, readBackFile } from "./read-back.ts";
import type { Rendered, TargetConfig } from "./render.ts";
import type { Verification } from "./verify.ts";

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
 * After a failed attempt, a sync that finds the target's recorded hash current again makes sure
 * the target runs it: a file delivery put its previous file back, so reading it back is enough;
 * an http or mimir peer has no rollback and may keep what it refused (a sidecar's file that the
 * next reload or restart trips on, Mimir's groups posted before the refused one), so the recorded
 * rendering is delivered again.
 */
export function recheck(d: DeliveryInput): Promise<Verification> {
  const delivery = d.target.delivery;
  return delivery.type === "file" ? readBackFile(d, delivery) : deliver(d);
}

/**
 * Whether the target still holds the rendering it last took, for a `full` sync that would leave
 * it alone: a file is read (edited or removed by hand, it is written again: its header says
 * edits are overwritten); an http or mimir peer is taken at its word (not read on every sync).
 */
export function stillHolds(deps: Services, target: TargetConfig, rendered: Rendered): Promise<boolean> {
  const delivery = target.delivery;
  return delivery.type === "file"
    ? fileHolds(deps.fs, delivery.path, rendered.content)
    : Promise.resolve(true);
}
