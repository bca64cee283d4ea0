/**
 * Makes an Upstash-Signature exactly as QStash does (docs/contracts.md#qstash): an HS256 JWT with
 * iss "Upstash", sub = destination URL, iat/nbf/exp (5 min), a unique jti and
 * body = base64url(SHA-256(raw body)). Used by `publish` for a worker that runs with its
 * own (or the local-development) keys, and by tests.
 */
import { base64Of } from "../base64.ts";
export interface SignOptions {
  key: string;
  url: string;
  body: string | Uint8Array;
  /** Unix seconds; defaults to now. */
  now?: number;
  /** Overrides for tests of bad signatures. */
  claims?: Record<string, unknown>;
}

const enc = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  return base64Of(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function bodyHash(body: string | Uint8Array): Promise<string> {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
}

export async function signJwt(key: string, payload: Record<string, unknown>): Promise<string> {
  const header = base64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const claims = base64url(enc.encode(JSON.stringify(payload)));
  const hmac = await crypto.subtle.importKey(
    "raw",
    enc.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, enc.encode(`${header}.${claims}`)));
  return `${header}.${claims}.${base64url(sig)}`;
}

export async function signRequest(opts: SignOptions): Promise<string> {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  return signJwt(opts.key, {
    iss: "Upstash",
    sub: opts.url,
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: `jwt_${crypto.randomUUID().replace(/-/g, "")}`,
    body: await bodyHash(opts.body),
    ...opts.claims,
  });
}
