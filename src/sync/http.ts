/**
 * The `http` delivery: PUT (or POST) the rendering with the configured headers to a URL that
 * applies it (a config service, a sidecar), then read the target back at `verify.url`. A
 * non-2xx answer is a refused delivery (net.ts refusedBy says whether a retry can help). There is no rollback: what a remote service applies
 * is its own to undo, and the worker only keeps a masked copy of what it sent before.
 */
import type { Config } from "../config/schema.ts";
import { refusedBy, send } from "./net.ts";
import { type DeliveryInput, readBack } from "./read-back.ts";
import type { Verification } from "./verify.ts";

type HttpDelivery = Extract<Config["config_sync"]["targets"][string]["delivery"], { type: "http" }>;

export async function deliverHttp(d: DeliveryInput, delivery: HttpDelivery): Promise<Verification> {
  const { url, method, headers } = delivery;
  const res = await send(d.deps.fetch, `delivering to ${d.name}`, url, {
    method,
    headers: { "content-type": "application/yaml; charset=utf-8", ...headers },
    body: d.rendered.content,
  });
  if (!res.ok) throw refusedBy(`${method} ${url}`, res);
  return readBack(d, d.target.verify.url);
}
