/**
 * Delivering one target's rendering: by its delivery type (file.ts, http.ts, mimir.ts),
 * each of which also reads the target back (verify.ts) and answers how it was verified, or
 * throws a JobError saying why the target does not have what was sent.
 */
import { deliverFile } from "./file.ts";
import { deliverHttp } from "./http.ts";
import { checkMimir, deliverMimir } from "./mimir.ts";
import { type DeliveryInput, readBack, readBackFile } from "./read-back.ts";
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
 * Reads a target back without delivering: after a failed attempt, a sync that finds the
 * target's recorded hash current again checks the target really runs it.
 */
export function recheck(d: DeliveryInput): Promise<Verification> {
  const delivery = d.target.delivery;
  switch (delivery.type) {
    case "file":
      return readBackFile(d, delivery);
    case "http":
      return readBack(d, d.target.verify.url);
    case "mimir":
      return checkMimir(d, delivery);
  }
}
