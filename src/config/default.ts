/**
 * The embedded default (README, "the embedded default"): what the worker runs with when given no config. Loopback only,
 * the runtime's durable store (SQLite at ./data/alertagent.db; memory on Workers), QStash's published local-development signing keys (docs/contracts.md#qstash) so
 * signatures are still verified, the built-in analysis engine, a console channel and a file
 * config-sync target under ./data/.
 */
export const DEV_SIGNING_KEYS = {
  current: "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r",
  next: "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs",
} as const;

/** QStash's public local-development token (not a secret). */
export const DEV_QSTASH_TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";

export const DEFAULT_CONFIG_YAML = `# alertagent-worker embedded default: local development on a laptop.
worker:
  name: alertagent-worker
  type: general
  host: 127.0.0.1
  port: 8081
qstash:
  current_signing_key: ${DEV_SIGNING_KEYS.current}
  next_signing_key: ${DEV_SIGNING_KEYS.next}
  token: ${DEV_QSTASH_TOKEN}
  url: http://127.0.0.1:8080
ai:
  order: [builtin]
channels:
  console:
    type: console
config_sync:
  targets:
    local-prometheus:
      kind: prometheus
      delivery: { type: file, path: ./data/prometheus/alertagent.rules.yml }
`;

/** This machine's loopback, by name or address: the only place the public dev keys are accepted. */
export const isLoopback = (host: string): boolean =>
  /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host);

/**
 * Whether a request's URL names this machine (what the public dev keys answer: README, "The
 * embedded default"). Read without parsing the whole URL: this is on every request's path.
 */
export function addressedHere(url: string): boolean {
  const start = url.indexOf("//") + 2;
  const end = url.indexOf("/", start);
  const host = url.slice(start, end < 0 ? undefined : end);
  return isLoopback(host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]);
}

/** True when the config uses the public dev keys (allowed only on loopback). */
export function usesDevKeys(keys: { current_signing_key: string; next_signing_key: string }): boolean {
  return (
    keys.current_signing_key === DEV_SIGNING_KEYS.current || keys.next_signing_key === DEV_SIGNING_KEYS.next
  );
}
