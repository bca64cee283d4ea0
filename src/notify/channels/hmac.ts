/**
 * Signing and hashing for the robots (Web Crypto, so the same code runs on every runtime):
 * HMAC-SHA256 → base64 for DingTalk and Feishu signatures, and a short stable hash that names
 * a robot or an Alertmanager group in store keys without putting its token in the key.
 */
import { base64Of } from "../../base64.ts";

const enc = new TextEncoder();

/** base64(HMAC-SHA256(key, message)). */
export async function hmacBase64(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return base64Of(new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(message))));
}

/**
 * A 16-hex-digit hash of a string: two 32-bit FNV-1a lanes with different seeds (not
 * cryptographic: it names a key, it does not hide a secret from someone who has the store).
 */
export function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
