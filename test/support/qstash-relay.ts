/**
 * A QStash-like relay on loopback, for end-to-end tests with a real Alertmanager: it takes
 * `POST /v2/publish/<destination>` with the Bearer token (as QStash does), then delivers the
 * body to the destination signed as QStash signs (Upstash-Signature, Upstash-Message-Id,
 * Upstash-Retried). It honours a Retry-After, else QStash's backoff (e^(2.5·n) s); after a 489
 * with Upstash-NonRetryable-Error, or once its retries are spent, it POSTs QStash's
 * failure-callback body to `failureCallback` (docs/contracts.md#qstash).
 *
 * Waits run on a virtual clock (`clock`): the worker and the robot fakes read the same clock,
 * so "retry in 60 s" takes milliseconds and still means what it says to everyone involved.
 */
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { signRequest } from "../../src/qstash/sign.ts";

export interface VirtualClock {
  now(): number;
  advance(ms: number): void;
}

export function virtualClock(): VirtualClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

export interface Attempt {
  messageId: string;
  destination: string;
  retried: number;
  status: number;
  retryAfter: string | null;
}

export interface Relay {
  url: string;
  /** Every delivery attempt, in order. */
  attempts: Attempt[];
  /** Failure callbacks sent: the source message ids. */
  dead: string[];
  /** Resolves when no message is being delivered or waiting for a retry. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startQstashRelay(opts: {
  token: string;
  signingKey: string;
  failureCallback: string;
  clock: VirtualClock;
  maxRetries?: number;
}): Relay {
  const maxRetries = opts.maxRetries ?? 3;
  let inFlight = 0;
  let seq = 0;
  const waiters: (() => void)[] = [];
  const relay: Relay = {
    url: "",
    attempts: [],
    dead: [],
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((r) => waiters.push(r))),
    stop: async () => {},
  };

  const signed = async (url: string, body: string, headers: Record<string, string>) =>
    fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "upstash-signature": await signRequest({ key: opts.signingKey, url, body }),
        ...headers,
      },
      body,
    });

  const deliver = async (messageId: string, destination: string, body: string) => {
    let last: Response | undefined;
    let lastText = "";
    for (let retried = 0; retried <= maxRetries; retried++) {
      last = await signed(destination, body, {
        "upstash-message-id": messageId,
        "upstash-retried": String(retried),
      });
      lastText = await last.text();
      const retryAfter = last.headers.get("retry-after");
      relay.attempts.push({ messageId, destination, retried, status: last.status, retryAfter });
      if (last.ok) return;
      if (last.status === 489 && last.headers.get("upstash-nonretryable-error") === "true") break;
      if (retried === maxRetries) break;
      const waitS =
        retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : Math.exp(2.5 * (retried + 1));
      opts.clock.advance(waitS * 1000);
      await Bun.sleep(5);
    }
    relay.dead.push(messageId);
    const callback = {
      status: last?.status ?? 0,
      header: { "Content-Type": ["application/json"] },
      body: Buffer.from(lastText).toString("base64"),
      retried: Math.min(maxRetries, relay.attempts.filter((a) => a.messageId === messageId).length - 1),
      maxRetries,
      sourceMessageId: messageId,
      topicName: "",
      endpointName: "",
      url: destination,
      method: "POST",
      sourceHeader: { "Content-Type": ["application/json"] },
      sourceBody: Buffer.from(body).toString("base64"),
      notBefore: 0,
      createdAt: opts.clock.now(),
      scheduleId: "",
      callerIP: "127.0.0.1",
      dlqId: `dlq_${messageId}`,
    };
    await signed(opts.failureCallback, JSON.stringify(callback), {
      "upstash-message-id": `cb_${messageId}`,
      "upstash-retried": "0",
    });
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.headers.get("authorization") !== `Bearer ${opts.token}`)
        return Response.json({ error: "Unauthorized" }, { status: 401 });
      if (req.method !== "POST" || !url.pathname.startsWith("/v2/publish/"))
        return Response.json({ error: "not found" }, { status: 404 });
      const destination = decodeURIComponent(url.pathname.slice("/v2/publish/".length)) + url.search;
      if (!/^https?:\/\//.test(destination))
        return Response.json({ error: "invalid destination url" }, { status: 400 });
      const body = await req.text();
      const messageId = `msg_relay_${++seq}`;
      inFlight++;
      void deliver(messageId, destination, body).finally(() => {
        inFlight--;
        if (inFlight === 0) for (const w of waiters.splice(0)) w();
      });
      return Response.json({ messageId }, { status: 201 });
    },
  });
  relay.url = `http://127.0.0.1:${server.port}`;
  relay.stop = async () => {
    await server.stop(true);
  };
  return relay;
}

/**
 * An Alertmanager config whose one receiver publishes every group through `relay` to the worker's
 * /jobs/notification for `channels`, with `send_resolved`, grouped by alertname, flushing each second.
 */
/** The QStash token the relays of the Alertmanager suites take. */
export const RELAY_TOKEN = "relay-token";

/** A relay to the worker at `workerUrl`, as QStash would be: RELAY_TOKEN, the dev signing key, failures to /jobs/failure. */
export function relayTo(workerUrl: string, clock: VirtualClock): Relay {
  return startQstashRelay({
    token: RELAY_TOKEN,
    signingKey: DEV_SIGNING_KEYS.current,
    failureCallback: `${workerUrl}/jobs/failure`,
    clock,
  });
}

export function alertmanagerViaRelay(
  relay: Relay,
  workerUrl: string,
  o: { channels: string; repeatInterval: string; capped?: { alertname: string; maxAlerts: number } },
): string {
  const webhook = (more = "") => `
    webhook_configs:
      - url: "${relay.url}/v2/publish/${workerUrl}/jobs/notification?channels=${o.channels}"
        send_resolved: true
        http_config: { authorization: { credentials: ${RELAY_TOKEN} } }${more}`;
  const { capped } = o;
  return `route:
  receiver: relay
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: ${o.repeatInterval}
${capped ? `  routes: [{ receiver: relay-capped, matchers: ['alertname="${capped.alertname}"'] }]\n` : ""}receivers:
  - name: relay${webhook()}
${capped ? `  - name: relay-capped${webhook(`\n        max_alerts: ${capped.maxAlerts}`)}\n` : ""}`;
}
