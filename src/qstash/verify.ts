/**
 * QStash signature verification (README "How a job is handled"; docs/contracts.md#qstash): an HS256 JWT checked with the
 * current signing key, then the next; `iss` = "Upstash"; `nbf`/`exp` with the clock
 * tolerance; `body` = base64url(SHA-256) of the raw bytes exactly as received; `sub` = the
 * public URL + path when one is configured. Every failure is a 401 JobError whose code says
 * which check failed.
 *
 * Why not @upstash/qstash's Receiver: it re-imports the key through async Web Crypto on every
 * request and hashes the body as a string, so
 * bytes that are not valid UTF-8 cannot be hashed as received. The digests are synchronous:
 * node:crypto's by default (on Bun, Deno and workerd with nodejs_compat); the Bun entry passes
 * Bun's own, which cost less per call. The checks are the Receiver's.
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import { base64Text } from "../base64.ts";
import { clip } from "../clip.ts";
import { unauthorized } from "../errors.ts";
import { safeEqual } from "../safe-equal.ts";

/** The two digests a signature check needs, each as base64url without padding. */
export interface SignatureDigests {
  /** HMAC-SHA256 under `key`: made once per signing key, then called once per request. */
  hmac(key: string): (data: string) => string;
  sha256(data: Uint8Array): string;
}

export const nodeDigests: SignatureDigests = {
  hmac(key) {
    const k = Buffer.from(key, "utf8");
    return (data) => createHmac("sha256", k).update(data).digest("base64url");
  },
  sha256: (data) => createHash("sha256").update(data).digest("base64url"),
};

export interface SigningKeys {
  current: string;
  next: string;
}

/** What the token alone is checked against: everything but the body. */
export interface TokenInput {
  signature: string | undefined | null;
  /** Expected `sub`; checked only when given. */
  url?: string;
  clockToleranceS: number;
  /** Unix seconds; defaults to now. */
  now?: number;
}

export interface VerifyInput extends TokenInput {
  body: Uint8Array;
}

interface Claims {
  iss?: unknown;
  sub?: unknown;
  exp?: unknown;
  nbf?: unknown;
  body?: unknown;
}

export class SignatureVerifier {
  /** HMAC-SHA256 under the current key, then the next. */
  private readonly macs: ((data: string) => string)[];
  private readonly sha256: (data: Uint8Array) => string;
  /** The last JWT header that passed its check (HS256): QStash sends the same header every time. */
  private lastHeader = "";

  constructor(keys: SigningKeys, digests: SignatureDigests = nodeDigests) {
    this.macs = [keys.current, keys.next].map((k) => digests.hmac(k));
    this.sha256 = digests.sha256;
  }

  /** Returns when the signature holds, or throws a 401 JobError naming the failed check. */
  verify(input: VerifyInput): void {
    this.verifyBody(this.verifyToken(input), input.body);
  }

  /**
   * Checks the JWT — header, claims and MAC — without the body, so a request that is not
   * QStash's is refused before its body is read. Returns the signed body hash.
   */
  verifyToken(input: TokenInput): string {
    const sig = input.signature?.trim();
    if (!sig) throw unauthorized("signature_missing", "the Upstash-Signature header is missing");
    // Three non-empty parts. Their characters are not checked here: a part that is not base64url
    // fails to decode (malformed) or to match the MAC, which covers the exact text (invalid).
    const parts = sig.split(".");
    if (parts.length !== 3 || !parts[0] || !parts[1] || !parts[2])
      throw unauthorized("signature_malformed", "Upstash-Signature is not a JWT");
    const [h, p, s] = parts;
    if (h !== this.lastHeader) {
      const header = decodeJson(h) as { alg?: unknown } | undefined;
      if (!header)
        throw unauthorized("signature_malformed", "Upstash-Signature could not be decoded as a JWT");
      if (header.alg !== "HS256")
        // Shown as JSON and cut: the header is anyone's (`{"alg": {"toString": 1}}` cannot be a string).
        throw unauthorized(
          "signature_invalid",
          `the signature algorithm must be HS256, not ${clip(JSON.stringify(header.alg) ?? "none", 40)}`,
        );
      this.lastHeader = h;
    }
    const claims = decodeJson(p) as Claims | undefined;
    if (!claims) throw unauthorized("signature_malformed", "Upstash-Signature could not be decoded as a JWT");

    // Compared as text: the encoding of a MAC is unique (base64url without padding, as QStash signs).
    const signed = sig.slice(0, h.length + 1 + p.length);
    const matches = this.macs.some((mac) => safeEqual(mac(signed), s));
    if (!matches)
      throw unauthorized("signature_invalid", "the signature does not match the current or next signing key");

    const now = input.now ?? Math.floor(Date.now() / 1000);
    const tol = input.clockToleranceS;
    if (claims.iss !== "Upstash")
      throw unauthorized("signature_invalid", "the signature's issuer is not Upstash");
    // QStash always sets exp (and nbf) as numbers; anything else is not its token.
    if (typeof claims.exp !== "number" || (claims.nbf !== undefined && typeof claims.nbf !== "number"))
      throw unauthorized(
        "signature_malformed",
        "the signature's exp must be a number, and nbf a number when present",
      );
    if (now - tol >= claims.exp) throw unauthorized("signature_expired", "the signature has expired");
    if (typeof claims.nbf === "number" && now + tol < claims.nbf) {
      throw unauthorized("signature_not_yet_valid", "the signature is not valid yet (nbf in the future)");
    }
    if (input.url !== undefined && claims.sub !== input.url && !sameUrl(claims.sub, input.url)) {
      throw unauthorized(
        "signature_subject_mismatch",
        "the signature was made for another URL (sub does not match worker.public_url + path)",
      );
    }
    if (typeof claims.body !== "string")
      throw unauthorized("signature_invalid", "the signature carries no body hash");
    return claims.body;
  }

  /** Compares the body as received with the hash `verifyToken` returned. */
  verifyBody(bodyHash: string, body: Uint8Array): void {
    if (stripPad(bodyHash) !== this.sha256(body)) {
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
    const v = JSON.parse(base64Text(part, true));
    return v && typeof v === "object" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Two spellings of one URL: a query with non-ASCII or a quote (`?channels=ops-钉钉`) may be signed
 * as published and arrive percent-encoded by the HTTP server, or the other way round. Compared as
 * the URL standard writes them; only asked when the texts differ.
 */
function sameUrl(sub: unknown, url: string): boolean {
  try {
    return typeof sub === "string" && new URL(sub).href === new URL(url).href;
  } catch {
    return false;
  }
}
