/**
 * Publishing jobs: straight to a worker with a locally made signature (what QStash itself
 * would send), or through QStash's API with the family's flow-control key.
 */
import type { Config, Family } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import type { Fetch } from "../ports.ts";
import { qstashClient, qstashSaid } from "./management.ts";
import { signRequest } from "./sign.ts";

/** worker.public_url without its trailing slashes; refused when unset (QStash needs somewhere to deliver). */
export function publicBase(config: Config): string {
  const base = config.worker.public_url?.replace(/\/+$/, "");
  if (!base) {
    throw new ConfigError("worker.public_url is required: QStash needs the URL to deliver to", [
      { path: "worker.public_url", message: "is required for setup-qstash" },
    ]);
  }
  return base;
}

/** The Upstash-* headers a publish of `family` carries: where QStash reports it dead, its flow control. */
export function qstashPublishHeaders(config: Config, family: Family): Record<string, string> {
  const headers: Record<string, string> = {
    "Upstash-Failure-Callback": `${publicBase(config)}/jobs/failure`,
  };
  const fc = flowControlFor(config, family);
  if (fc) {
    headers["Upstash-Flow-Control-Key"] = fc.key;
    headers["Upstash-Flow-Control-Value"] = [
      `parallelism=${fc.parallelism}`,
      ...(fc.rate ? [`rate=${fc.rate}`, `period=${fc.period}s`] : []),
    ].join(", ");
  }
  return headers;
}

/** The flow-control entry (README, "Configuration" qstash.flow_control) that a family's jobs are published under. */
export function flowControlFor(config: Config, family: Family) {
  const key = family === "config-sync" ? "config_sync" : family;
  const fc = (config.qstash.flow_control as Record<string, Config["qstash"]["flow_control"]["analysis"]>)[
    key
  ];
  if (!fc) return undefined;
  return {
    key: fc.key,
    parallelism: fc.parallelism ?? fc.max,
    ...(fc.rate ? { rate: fc.rate, period: Math.max(1, Math.round((fc.period ?? 1000) / 1000)) } : {}),
  };
}

export interface DirectPublish {
  url: string;
  /** The `sub` claim: the worker's public_url + path when it has one, else `url`. */
  subject: string;
  body: Uint8Array;
  signingKey: string;
  messageId: string;
  retried?: number;
  fetch: Fetch;
}

/** POSTs a job to a worker exactly as QStash would deliver it. */
export async function publishDirect(o: DirectPublish): Promise<Response> {
  const signature = await signRequest({ key: o.signingKey, url: o.subject, body: o.body });
  return o.fetch(o.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "upstash-signature": signature,
      "upstash-message-id": o.messageId,
      "upstash-retried": String(o.retried ?? 0),
      "user-agent": "alertagent-worker publish",
    },
    body: o.body as Uint8Array<ArrayBuffer>,
  });
}

/**
 * Publishes through QStash's API; QStash then delivers to `destination`, and when it gives up,
 * to `failureCallback` (the worker's /jobs/failure). `deduplicationId`: QStash drops a second
 * publish with the same id, so a publish retried after a lost answer is not a second job.
 */
export async function publishViaQstash(
  config: Config,
  family: Family,
  o: { destination: string; failureCallback: string; body: string; deduplicationId?: string },
): Promise<string> {
  if (!config.qstash.token) throw new Error("qstash.token is required to publish through QStash");
  const flowControl = flowControlFor(config, family);
  try {
    const res = await qstashClient(config).publish({
      url: o.destination,
      body: o.body,
      headers: { "content-type": "application/json" },
      failureCallback: o.failureCallback,
      ...(o.deduplicationId ? { deduplicationId: o.deduplicationId } : {}),
      ...(flowControl ? { flowControl } : {}),
    });
    return res.messageId;
  } catch (e) {
    throw new Error(`QStash refused the publish: ${qstashSaid(config, e)}`);
  }
}
