/** sha256 of a rendering, as "sha256:<hex>" (Web Crypto: the same on every runtime). */
const UTF8 = new TextEncoder();

export async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", UTF8.encode(text)));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return `sha256:${hex}`;
}
