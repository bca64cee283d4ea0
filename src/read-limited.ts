/**
 * Reading a body without buffering more than a limit: a job's request, and what a peer answers
 * (a robot, an LLM, Prometheus), where a broken or hostile peer could otherwise stream gigabytes
 * into the worker's memory before any timeout (README, "Limits").
 */

export const MiB = 1024 * 1024;

/** A peer's answer over its limit, as messages say it: "more than 4 MiB". */
export const moreThan = (limit: number): string => `more than ${limit / MiB} MiB`;

/**
 * A request body, read up to `limit`; an over-limit body comes back as limit + 1 bytes (enough to
 * say it is too large without buffering it). The job runner turns it into 489 payload_too_large.
 */
export async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) return new Uint8Array(limit + 1);
  // A declared length within the limit cannot grow past it: read it in one go (the fast path;
  // asking for req.body first would make Deno build a stream for it).
  if (declared >= 0) return new Uint8Array(await req.arrayBuffer());
  const read = await readUpTo(req.body, limit);
  return read.over ? new Uint8Array(limit + 1) : read.bytes;
}

/**
 * A peer's answer as text, its first `limit` bytes at most; `over` when it had more (the rest
 * is not read), its text then empty unless `cut` asks for those first bytes: most callers refuse
 * an answer over its limit, and several engines' 4 MiB each, held, copied and decoded only to be
 * thrown away, went far past worker.memory_limit. Content-Length is not trusted: fetch decodes
 * gzip, so a small declared body can unpack to any size.
 */
export async function readAnswer(
  res: Response,
  limit: number,
  { cut = false } = {},
): Promise<{ text: string; over: boolean }> {
  const read = await readUpTo(res.body, limit, cut);
  // stream: a character cut at the limit is dropped, not shown as U+FFFD.
  return { text: new TextDecoder().decode(read.bytes, { stream: read.over }), over: read.over };
}

async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  keepOver = false,
): Promise<{ bytes: Uint8Array; over: boolean }> {
  if (!body) return { bytes: new Uint8Array(0), over: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size));
      size = limit;
      over = true;
      await reader.cancel().catch(() => {});
      if (!keepOver) return { bytes: new Uint8Array(0), over };
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  if (chunks.length === 1) return { bytes: chunks[0], over };
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    bytes.set(ch, off);
    off += ch.byteLength;
  }
  return { bytes, over };
}
