/**
 * The `http` delivery: PUT (or POST) the rendering with the configured headers to a URL that
 * applies it (a config service, a sidecar), then read the target back at `verify.url`. A
 * non-2xx answer is a refused delivery (net.ts refusedBy says whether a retry can help). There is no rollback: what a remote service applies
 * is its own to undo, and the worker only keeps a masked copy of what it sent before.
 */
import type { Config } from "../config/schema.ts";
import { type JobError, permanent } from "../errors.ts";
import { vmalertAccepted, vmalertReloads } from "./file.ts";
import { refusedBy, send } from "./net.ts";
import { type DeliveryInput, readBack } from "./read-back.ts";
import type { Verification } from "./verify.ts";

type HttpDelivery = Extract<Config["config_sync"]["targets"][string]["delivery"], { type: "http" }>;

export async function deliverHttp(d: DeliveryInput, delivery: HttpDelivery): Promise<Verification> {
  const { url, method, headers } = delivery;
  // vmalert takes a reload before it reads the file, so a sidecar answers 200 for rules vmalert
  // then refuses: its reload counters, beside verify.url, say so (as for a file delivery).
  const vmalert = d.target.kind === "vmalert" ? d.target.verify.url : undefined;
  const before = vmalert ? await vmalertReloads(d, vmalert) : undefined;
  const res = await send(d.deps.fetch, `delivering to ${d.name}`, url, {
    method,
    headers: { "content-type": "application/yaml; charset=utf-8", ...headers },
    body: d.rendered.content,
  });
  if (!res.ok) throw refusedBy(`${method} ${url}`, res);
  if (vmalert && before)
    await vmalertAccepted(d, vmalert, before).catch((e: JobError) => {
      if (!(e.details as { refused_config?: boolean } | undefined)?.refused_config) throw e;
      throw permanent("config_refused", `${e.message}: it keeps running its previous rules`, e.details);
    });
  return readBack(d, d.target.verify.url);
}
