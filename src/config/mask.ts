/**
 * Secret masking for anything that shows config to a person: check-config, /stats, the
 * dashboard, logs. A value is secret by its key name, or by where it sits in a URL
 * (passwords in user-info, tokens and keys in the query string).
 */
const SECRET_KEYS =
  /^(admin_token|current_signing_key|next_signing_key|token|secret|pass|password|key|authorization|api_key|access_token)$/i;
const SECRET_HEADER = /authorization|token|secret|key|cookie/i;
const SECRET_QUERY = /^(access_token|key|token|sign|secret|password|apikey|api_key)$/i;
export const MASK = "********";

/** Masks tokens in a URL's query and user-info; returns non-URLs unchanged. */
export function maskUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const u = new URL(value);
    let changed = false;
    if (u.password) {
      u.password = MASK;
      changed = true;
    }
    for (const k of [...u.searchParams.keys()]) {
      if (SECRET_QUERY.test(k)) {
        u.searchParams.set(k, MASK);
        changed = true;
      }
    }
    return changed ? u.toString() : value;
  } catch {
    return value;
  }
}

/** Deep copy of `value` with every secret replaced by ********. */
export function maskSecrets(value: unknown, path: string[] = []): unknown {
  if (typeof value === "string") return maskUrl(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, path));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        v !== undefined && isSecret(k, path) ? MASK : maskSecrets(v, [...path, k]),
      ]),
    );
  }
  return value;
}

function isSecret(key: string, path: string[]): boolean {
  if (path.at(-1) === "headers") return SECRET_HEADER.test(key);
  // `key` names a flow-control key (not secret) under qstash.flow_control; elsewhere (Dify apps) it is a credential.
  if (key === "key") return !path.includes("flow_control");
  return SECRET_KEYS.test(key);
}
