import { describe, expect, test } from "bun:test";
import { DEV_SIGNING_KEYS } from "../../src/config/default.ts";
import { denoDigests, jsDigests } from "../../src/entry/js-digests.ts";
import { nodeDigests } from "../../src/qstash/verify.ts";
import { DIGEST_BODIES, expectVerifierWith } from "../support/digests.ts";

describe("JavaScript digests for the signature check (the Deno entry's)", () => {
  test("SHA-256 of the raw bytes equals node:crypto's, as base64url without padding", () => {
    for (const [name, b] of DIGEST_BODIES) {
      const got = jsDigests.sha256(b);
      expect({ name, got }).toEqual({ name, got: nodeDigests.sha256(b) });
      expect(got).toMatch(/^[\w-]{43}$/);
    }
  });

  test("SHA-256 equals node:crypto's at every length around the block and padding edges", () => {
    for (let n = 0; n <= 200; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff);
      expect({ n, got: jsDigests.sha256(b) }).toEqual({ n, got: nodeDigests.sha256(b) });
    }
    // A view into a larger buffer hashes only its own bytes.
    const big = new Uint8Array(300).map((_, i) => i & 0xff);
    expect(jsDigests.sha256(big.subarray(10, 150))).toBe(nodeDigests.sha256(big.subarray(10, 150)));
  });

  test("HMAC-SHA256 equals node:crypto's under each key, and a keyed hasher can be used again and again", () => {
    const long = `${"k".repeat(64)}ey longer than a block`;
    for (const key of [
      DEV_SIGNING_KEYS.current,
      DEV_SIGNING_KEYS.next,
      "sig_ключ-非ASCII",
      long,
      "k".repeat(64),
      "",
    ]) {
      const js = jsDigests.hmac(key);
      const node = nodeDigests.hmac(key);
      const data = [
        "a.b",
        "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJVcHN0YXNoIn0",
        "a.b",
        "",
        "磁盘.\ud800",
        "x".repeat(5000),
      ];
      for (let n = 50; n <= 130; n++) data.push("y".repeat(n));
      for (const d of data) expect({ key, d, got: js(d) }).toEqual({ key, d, got: node(d) });
    }
  });

  test("a verifier with these digests accepts QStash's signatures under either key and names what fails", async () => {
    await expectVerifierWith(jsDigests);
  });

  test("the Deno entry's pair (this HMAC; this SHA-256 for small bodies, node:crypto's for larger) verifies the same signatures", async () => {
    await expectVerifierWith(denoDigests);
  });

  test("the Deno entry's SHA-256 equals node:crypto's on both sides of where it switches", () => {
    for (const n of [0, 100, 383, 384, 385, 1000, 70_000]) {
      const b = new Uint8Array(n).map((_, i) => (i * 13 + n) & 0xff);
      expect({ n, got: denoDigests.sha256(b) }).toEqual({ n, got: nodeDigests.sha256(b) });
    }
  });
});
