/**
 * The signature check's digests on Deno. Deno's node:crypto is a polyfill: each createHmac
 * builds JS objects, keys itself and crosses into Rust several times, so the HMAC is plain
 * JavaScript here, with its keyed inner and outer states made once per signing key. For the
 * body's SHA-256 (`denoDigests`) the JavaScript one wins on small bodies and node:crypto's native
 * one from about 384 bytes, by 7x at 64 KiB (BENCHMARKS.md, the digests section). Same results
 * as node:crypto (test/entry/js-digests.test.ts).
 */
import { nodeDigests, type SignatureDigests } from "../qstash/verify.ts";

// FIPS 180-4: the round constants and the initial hash value.
const K = Int32Array.from(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ],
  (v) => v | 0,
);
const IV = Int32Array.from(
  [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
  (v) => v | 0,
);
const BLOCK = 64;
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The message schedule, reused by every block. */
const w = new Int32Array(64);
/** The last block or two of a message, with its padding. */
const tail = new Uint8Array(2 * BLOCK);
/** The running state of the digest being computed. */
const state = new Int32Array(8);
/** A string's UTF-8 bytes (grown to the longest seen). */
let scratch = new Uint8Array(1024);
const encoder = new TextEncoder();

/** Runs the compression function over the whole blocks of p[from, to) into h. */
function compress(h: Int32Array, p: Uint8Array, from: number, to: number): void {
  let h0 = h[0];
  let h1 = h[1];
  let h2 = h[2];
  let h3 = h[3];
  let h4 = h[4];
  let h5 = h[5];
  let h6 = h[6];
  let h7 = h[7];
  for (let off = from; off < to; off += BLOCK) {
    for (let i = 0; i < 16; i++) {
      const j = off + 4 * i;
      w[i] = (p[j] << 24) | (p[j + 1] << 16) | (p[j + 2] << 8) | p[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let k = h7;
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (k + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + k) | 0;
  }
  h[0] = h0;
  h[1] = h1;
  h[2] = h2;
  h[3] = h3;
  h[4] = h4;
  h[5] = h5;
  h[6] = h6;
  h[7] = h7;
}

/** Hashes p[0, length) into h, which holds the state after `prior` bytes (a whole number of blocks). */
function finish(h: Int32Array, p: Uint8Array, length: number, prior: number): void {
  const whole = length - (length % BLOCK);
  compress(h, p, 0, whole);
  let n = length - whole;
  tail.set(p.subarray(whole, length));
  tail[n++] = 0x80;
  const end = n > BLOCK - 8 ? 2 * BLOCK : BLOCK;
  tail.fill(0, n, end - 4);
  // The length in bits, big-endian in the last 8 bytes; the high word stays 0 below 512 MiB.
  const bits = (prior + length) * 8;
  const high = Math.floor(bits / 0x100000000);
  tail[end - 8] = high >>> 24;
  tail[end - 7] = high >>> 16;
  tail[end - 6] = high >>> 8;
  tail[end - 5] = high;
  tail[end - 4] = bits >>> 24;
  tail[end - 3] = bits >>> 16;
  tail[end - 2] = bits >>> 8;
  tail[end - 1] = bits;
  compress(h, tail, 0, end);
}

/** Byte i of the digest held in h. */
const byteOf = (h: Int32Array, i: number) => (h[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;

/** The 32-byte digest in h as base64url without padding (43 characters). */
function base64url(h: Int32Array): string {
  let out = "";
  for (let i = 0; i < 30; i += 3) {
    const n = (byteOf(h, i) << 16) | (byteOf(h, i + 1) << 8) | byteOf(h, i + 2);
    out += B64URL[n >>> 18] + B64URL[(n >>> 12) & 63] + B64URL[(n >>> 6) & 63] + B64URL[n & 63];
  }
  const n = (byteOf(h, 30) << 8) | byteOf(h, 31);
  return out + B64URL[n >>> 10] + B64URL[(n >>> 4) & 63] + B64URL[(n << 2) & 63];
}

/** The digest's 32 bytes written over the start of p. */
function digestInto(h: Int32Array, p: Uint8Array): void {
  for (let i = 0; i < 32; i++) p[i] = byteOf(h, i);
}

/** `text` as UTF-8 in `scratch` (as node:crypto's update(string) hashes it); returns its length. */
function utf8(text: string): number {
  if (scratch.length < 3 * text.length)
    scratch = new Uint8Array(Math.max(3 * text.length, 2 * scratch.length));
  return encoder.encodeInto(text, scratch).written;
}

/** The state after one block: the key padded to 64 bytes, XORed with `pad` (HMAC's ipad/opad). */
function keyed(key: Uint8Array, pad: number): Int32Array {
  const block = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] ^= key[i];
  const h = IV.slice();
  compress(h, block, 0, BLOCK);
  return h;
}

export const jsDigests: SignatureDigests = {
  hmac(key) {
    let k = encoder.encode(key);
    if (k.length > BLOCK) {
      // RFC 2104: a key longer than a block is hashed first.
      state.set(IV);
      finish(state, k, k.length, 0);
      k = new Uint8Array(32);
      digestInto(state, k);
    }
    const inner = keyed(k, 0x36);
    const outer = keyed(k, 0x5c);
    return (data) => {
      const length = utf8(data);
      state.set(inner);
      finish(state, scratch, length, BLOCK);
      digestInto(state, scratch);
      state.set(outer);
      finish(state, scratch, 32, BLOCK);
      return base64url(state);
    };
  },
  sha256(data) {
    state.set(IV);
    finish(state, data, data.length, 0);
    return base64url(state);
  },
};

/**
 * Below this many bytes the SHA-256 above beats node:crypto's on Deno, whose per-call cost is
 * ~2.5 µs whatever the size (BENCHMARKS.md, the digests section: they cross near 384 bytes).
 */
const NATIVE_SHA_FROM = 384;

/**
 * What the Deno entry checks signatures with: the keyed HMAC above, and for the body's SHA-256
 * the one above under NATIVE_SHA_FROM bytes, node:crypto's native one from there.
 */
export const denoDigests: SignatureDigests = {
  hmac: jsDigests.hmac,
  sha256: (data) => (data.length < NATIVE_SHA_FROM ? jsDigests.sha256(data) : nodeDigests.sha256(data)),
};
