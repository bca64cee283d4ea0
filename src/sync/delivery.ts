/**
 * Delivering one target's rendering: by its delivery type (file.ts, http.ts, mimir.ts),
 * each of which also reads the target back (verify.ts) and answers how it was verified, or
 * throws a JobError saying why the target does not have what was sent.
 */

import type { Services } from "../services.ts";
import { deliverFile, fileHolds } from "./file.ts";
import { deliverHttp } from "./http.ts";
import { deliverMimir } from "./mimir.ts";
import type { DeliveryInput } from "./read-back.ts";
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
