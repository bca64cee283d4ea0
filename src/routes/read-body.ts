/** Reading a request body without buffering more than the configured limit allows. */

/**
 * Reads at most limit + 1 bytes: enough to know the body is too large without buffering
 * a huge one. The job runner turns an over-limit body into 489 payload_too_large.
 */
export async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) return new Uint8Array(limit + 1);
  // A declared length within the limit cannot grow past it: read it in one go (the fast path;
  // asking for req.body first would make Deno build a stream for it).
  if (declared >= 0) return new Uint8Array(await req.arrayBuffer());
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return new Uint8Array(limit + 1);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.byteLength;
  }
  return out;
}
