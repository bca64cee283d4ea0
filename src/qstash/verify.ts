/**
 * QStash signature verification (SPEC §2.1, CONTRACTS §1.1): an HS256 JWT checked with the
 * current signing key, then the next; `iss` = "Upstash"; `nbf`/`exp` with the clock
 * tolerance; `body` = base64url(SHA-256) of the raw bytes exactly as received; `sub` = the
 * public URL + path when one is configured. Every failure is a 401 JobError whose code says
 * which check failed.
 *
 * Why not @upstash/qstash's Receiver: it re-imports the key through async Web Crypto on every
 * request (~115 µs, a third of the budget of a whole job) and hashes the body as a string, so
 * bytes that are not valid UTF-8 cannot be hashed as received. node:crypto's synchronous HMAC
 * and SHA-256 exist on Bun, Deno and workerd (nodejs_compat). The checks are the Receiver's.
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { unauthorized } from "../errors.ts";

export interface SigningKeys {
  current: string;
  next: string;
}

export interface VerifyInput {
  signature: string | undefined | null;
  body: Uint8Array;
  /** Expected `sub`; checked only when given. */
  url?: string;
  clockToleranceS: number;
  /** Unix seconds; defaults to now. */
  now?: number;
}

interface Claims {
  iss?: unknown;
  sub?: unknown;
  exp?: unknown;
  nbf?: unknown;
  body?: unknown;
}

const JWT = /^([\w-]+)\.([\w-]+)\.([\w-]+)$/;

export class SignatureVerifier {
  private readonly keys: Buffer[];
  /** The last JWT header that passed its check (HS256): QStash sends the same header every time. */
  private lastHeader = "";

  constructor(keys: SigningKeys) {
    this.keys = [keys.current, keys.next].map((k) => Buffer.from(k, "utf8"));
  }

  /** Returns when the signature holds, or throws a 401 JobError naming the failed check. */
  verify(input: VerifyInput): void {
    const sig = input.signature?.trim();
    if (!sig) throw unauthorized("signature_missing", "the Upstash-Signature header is missing");
    const m = JWT.exec(sig);
    if (!m) throw unauthorized("signature_malformed", "Upstash-Signature is not a JWT");
    const [, h, p, s] = m;
    if (h !== this.lastHeader) {
      const header = decodeJson(h) as { alg?: unknown } | undefined;
      if (!header)
        throw unauthorized("signature_malformed", "Upstash-Signature could not be decoded as a JWT");
      if (header.alg !== "HS256")
        throw unauthorized(
          "signature_invalid",
          `the signature algorithm must be HS256, not ${String(header.alg)}`,
        );
      this.lastHeader = h;
    }
    const claims = decodeJson(p) as Claims | undefined;
    if (!claims) throw unauthorized("signature_malformed", "Upstash-Signature could not be decoded as a JWT");

    const given = Buffer.from(s, "base64url");
    const signed = sig.slice(0, h.length + 1 + p.length);
    const matches = this.keys.some((key) => {
      const mac = createHmac("sha256", key).update(signed).digest();
      return mac.length === given.length && timingSafeEqual(mac, given);
    });
    if (!matches)
      throw unauthorized("signature_invalid", "the signature does not match the current or next signing key");

    const now = input.now ?? Math.floor(Date.now() / 1000);
    const tol = input.clockToleranceS;
    if (claims.iss !== "Upstash")
      throw unauthorized("signature_invalid", "the signature's issuer is not Upstash");
    if (typeof claims.exp === "number" && now - tol >= claims.exp)
      throw unauthorized("signature_expired", "the signature has expired");
    if (typeof claims.nbf === "number" && now + tol < claims.nbf) {
      throw unauthorized("signature_not_yet_valid", "the signature is not valid yet (nbf in the future)");
    }
    if (input.url !== undefined && claims.sub !== input.url) {
      throw unauthorized(
        "signature_subject_mismatch",
        "the signature was made for another URL (sub does not match worker.public_url + path)",
      );
    }
    if (typeof claims.body !== "string")
      throw unauthorized("signature_invalid", "the signature carries no body hash");
    const digest = createHash("sha256").update(input.body).digest("base64url");
    if (stripPad(claims.body) !== digest) {
      throw unauthorized(
        "signature_body_mismatch",
        "the body does not match the signature's body hash (tampered or re-serialised)",
      );
    }
  }
}

const stripPad = (v: string) => v.replace(/=+$/, "");

function decodeJson(part: string): unknown {
  try {
    const v = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return v && typeof v === "object" ? v : undefined;
  } catch {
    return undefined;
  }
}
