/**
 * Keys of the old Go worker's config: refused with a hint saying where each one moved, so an
 * operator migrating sees every change at once (README, "Migrating from the old worker").
 */

const MOVED: Record<string, string> = {
  "worker.ai_analysis":
    "worker.type: ai-analysis; its concurrency → qstash.flow_control.analysis.parallelism",
  "worker.notification":
    "worker.type: notification; its concurrency → qstash.flow_control.notification.parallelism",
  "worker.config_sync":
    "worker.type: config-sync; its concurrency → qstash.flow_control.config-sync.parallelism",
  "worker.queues": "worker.families (or -queues= on the command line)",
  "worker.autoscale": "qstash.autoscale, with min/max per key in qstash.flow_control.<family>",
  "dify.api_url": "ai.dify.url",
  "dify.base_url": "ai.dify.url",
  "dify.url": "ai.dify.url",
  "dify.api_key": "ai.dify.apps.<type>.key (each Dify app has its own key: comprehensive, quick, root_cause)",
  "dify.agent_id":
    "ai.dify.apps.<type>: {mode: agent, key} (the agent app's key identifies it; no agent id is needed)",
  "dify.timeout": "ai.dify.timeout",
  "ollama.api_url": "ai.ollama.url",
  "ollama.base_url": "ai.ollama.url",
  "ollama.url": "ai.ollama.url",
  "ollama.host": "ai.ollama.url",
  "ollama.model": "ai.ollama.model",
  "ollama.timeout": "ai.ollama.timeout",
  "redis.addr": "store: {kind: redis, url: redis://host:port/db}",
  "redis.host": "store: {kind: redis, url: redis://host:port/db}",
  "redis.port": "store: {kind: redis, url: redis://host:port/db}",
  "redis.url": "store: {kind: redis, url: …}",
  "redis.password": "store.url's password part (redis://:PASSWORD@host:port)",
  "redis.db": "store.url's path (redis://host:port/DB)",
};

/** Where each old top-level section went, for its keys not named above. */
const SECTION: Record<string, string> = {
  dify: "ai.dify",
  ollama: "ai.ollama",
  redis: "store (kind: redis)",
};

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** One `{path, message}` per old key found in a parsed document; empty when there is none. */
export function legacyKeys(doc: Record<string, unknown>): { path: string; message: string }[] {
  const found: { path: string; message: string }[] = [];
  const worker = doc.worker;
  if (isMap(worker))
    for (const k of Object.keys(worker)) {
      const to = MOVED[`worker.${k}`];
      if (to) found.push({ path: `worker.${k}`, message: `the old worker's key: moved to ${to}` });
    }
  for (const [section, home] of Object.entries(SECTION)) {
    const v = doc[section];
    if (v === undefined) continue;
    const keys = isMap(v) ? Object.keys(v) : [];
    if (!keys.length) found.push({ path: section, message: `the old worker's section: moved to ${home}` });
    for (const k of keys)
      found.push({
        path: `${section}.${k}`,
        message: `the old worker's key: moved to ${MOVED[`${section}.${k}`] ?? `${home} (see the README's migration table)`}`,
      });
  }
  return found;
}
