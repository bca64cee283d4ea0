/**
 * What every set of signature digests (src/entry/bun-digests.ts, js-digests.ts) is held to: bodies
 * of every kind, and a SignatureVerifier with them that accepts QStash's signatures and names
 * what fails, exactly as with node:crypto's.
 */
import { expect } from "bun:test";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import type { JobError } from "../../src/errors.ts";
import { signRequest } from "../../src/qstash/sign.ts";
import { type SignatureDigests, SignatureVerifier } from "../../src/qstash/verify.ts";

export const DIGEST_BODIES: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["JSON", new TextEncoder().encode('{"status":503,"sourceMessageId":"msg_1"}')],
  ["UTF-8", new TextEncoder().encode('{"summary":"磁盘快满了 — disk almost full"}')],
  ["not UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x7d])],
  ["64 KiB", new Uint8Array(65536).map((_, i) => i % 251)],
];

/** A verifier with `digests` accepts signatures under either key and names each failing check. */
export async function expectVerifierWith(digests: SignatureDigests): Promise<void> {
  const v = new SignatureVerifier(DEV_SIGNING_KEYS, digests);
  const body = '{"status":503,"sourceMessageId":"msg_1"}';
  const url = "https://worker.example.com/jobs/failure";
  const bytes = new TextEncoder().encode(body);
  const check = (signature: string, b = bytes) => {
    try {
      v.verify({ signature, body: b, url, clockToleranceS: 5 });
      return "ok";
    } catch (e) {
      return (e as JobError).code;
    }
  };
  for (const key of [DEV_SIGNING_KEYS.current, DEV_SIGNING_KEYS.next])
    expect(check(await signRequest({ key, url, body }))).toBe("ok");
  expect(check(await signRequest({ key: "sig_someoneElsesKey1234567890", url, body }))).toBe(
    "signature_invalid",
  );
  const good = await signRequest({ key: DEV_SIGNING_KEYS.current, url, body });
  expect(check(good, new TextEncoder().encode(`${body} `))).toBe("signature_body_mismatch");
  // One character of the MAC changed: same length, different text.
  const flipped = good.slice(0, -1) + (good.endsWith("A") ? "B" : "A");
  expect(check(flipped)).toBe("signature_invalid");
  expect(check(good.slice(0, -2))).toBe("signature_invalid");
}
