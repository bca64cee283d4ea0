/**
 * The signature check's digests on Bun (the binary and `bun run`): Bun.CryptoHasher. The HMAC
 * state after the key is made once per signing key and copied per request, so a request
 * pays neither the key set-up nor node:crypto's Hmac and Buffer objects (the gain: BENCHMARKS.md).
 */
import type { SignatureDigests } from "../qstash/verify.ts";

export const bunDigests: SignatureDigests = {
  hmac(key) {
    const keyed = new Bun.CryptoHasher("sha256", key);
    return (data) => keyed.copy().update(data).digest("base64url");
  },
  sha256: (data) => Bun.CryptoHasher.hash("sha256", data, "base64url"),
};
