/**
 * Base64 both ways. Decoding: what QStash sends (JWT parts, failure-callback bodies) is
 * printable ASCII almost always: `atob` decodes that without a Buffer; anything
 * else — other bytes, or characters atob refuses — goes through Buffer, as before.
 */
import { Buffer } from "node:buffer";

/** `b64` (base64, or base64url with `url`) decoded as UTF-8. */
export function base64Text(b64: string, url = false): string {
  try {
    const binary = atob(url ? b64.replaceAll("-", "+").replaceAll("_", "/") : b64);
    if (!/[^\t\n\r -~]/.test(binary)) return binary;
  } catch {
    // Not strict base64: Buffer decodes what it can, as it always did.
  }
  return Buffer.from(b64, url ? "base64url" : "base64").toString("utf8");
}

/** Bytes, or text as UTF-8, as base64 (in slices: a large input would overflow the call's arguments). */
export function base64Of(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
