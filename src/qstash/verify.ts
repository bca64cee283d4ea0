/**
 * QStash signature verification (SPEC §2.1, CONTRACTS §1.1). The JWT (HS256, iss, nbf/exp
 * with tolerance) is checked by @upstash/qstash's Receiver with the current key, then the
 * next; the body claim is compared with SHA-256 of the raw bytes exactly as received; `sub`
 * with the public URL + path when one is configured. Every failure is a 401 JobError whose
 * code says which check failed.
 */
import { Receiver } from "@upstash/qstash";
import { type JobError, unauthorized } from "../errors.ts";

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
}

export class SignatureVerifier {
  private readonly current: Receiver;
  private readonly next: Receiver;

  constructor(keys: SigningKeys) {
    // One receiver per key so each key's own error is known; devMode off so the public
    // dev keys are never accepted by accident through QSTASH_DEV.
    this.current = new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.current, devMode: false });
    this.next = new Receiver({ currentSigningKey: keys.next, nextSigningKey: keys.next, devMode: false });
  }

  /** Resolves when the signature holds, or throws a 401 JobError naming the failed check. */
  async verify(input: VerifyInput): Promise<void> {
    const sig = input.signature?.trim();
    if (!sig) throw unauthorized("signature_missing", "the Upstash-Signature header is missing");
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(sig)) throw unauthorized("signature_malformed", "Upstash-Signature is not a JWT");
    // Decoding valid UTF-8 (BOM kept) and re-encoding gives back the same bytes, so the hash is of the raw body.
    const body = UTF8.decode(input.body);
    const req = { signature: sig, body, url: input.url, clockTolerance: input.clockToleranceS };
    try {
      await this.current.verify(req);
    } catch (first) {
      try {
        await this.next.verify(req);
      } catch (second) {
        // jose checks the signature before the claims: a key whose error is not a
        // signature mismatch is the key that signed it, and its error is the real reason.
        const real = [first, second].find((e) => !/signature verification failed/i.test(String((e as Error).message)));
        throw classify(real ?? second);
      }
    }
  }
}

const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

function classify(e: unknown): JobError {
  const m = String((e as Error)?.message ?? e);
  if (/"exp"/.test(m)) return unauthorized("signature_expired", "the signature has expired");
  if (/"nbf"/.test(m)) return unauthorized("signature_not_yet_valid", "the signature is not valid yet (nbf in the future)");
  if (/invalid subject/.test(m)) return unauthorized("signature_subject_mismatch", "the signature was made for another URL (sub does not match worker.public_url + path)");
  if (/body hash/.test(m)) return unauthorized("signature_body_mismatch", "the body does not match the signature's body hash (tampered or re-serialised)");
  if (/"iss"/.test(m)) return unauthorized("signature_invalid", "the signature's issuer is not Upstash");
  if (/signature verification failed/i.test(m)) return unauthorized("signature_invalid", "the signature does not match the current or next signing key");
  return unauthorized("signature_malformed", "Upstash-Signature could not be decoded as a JWT");
}

