import { describe, expect, test } from "bun:test";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { bunDigests } from "../../src/entry/bun-digests.ts";
import { nodeDigests } from "../../src/qstash/verify.ts";
import { DIGEST_BODIES, expectVerifierWith } from "../support/digests.ts";

describe("Bun's digests for the signature check (the binary's)", () => {
  test("SHA-256 of the raw bytes equals node:crypto's, as base64url without padding", () => {
    for (const [name, b] of DIGEST_BODIES) {
      const got = bunDigests.sha256(b);
      expect({ name, got }).toEqual({ name, got: nodeDigests.sha256(b) });
      expect(got).toMatch(/^[\w-]{43}$/);
    }
  });

  test("HMAC-SHA256 equals node:crypto's under each key, and a keyed hasher can be used again and again", () => {
    for (const key of [DEV_SIGNING_KEYS.current, DEV_SIGNING_KEYS.next, "sig_ключ-非ASCII"]) {
      const bun = bunDigests.hmac(key);
      const node = nodeDigests.hmac(key);
      for (const data of ["a.b", "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJVcHN0YXNoIn0", "a.b"])
        expect(bun(data)).toBe(node(data));
    }
  });

  test("a verifier with Bun's digests accepts QStash's signatures under either key and names what fails", async () => {
    await expectVerifierWith(bunDigests);
  });
});
