/**
 * A file's text (the Bun and Deno entries' readFile). Strict, for job files: read leniently, a GBK
 * export from a Windows tool became a page of "�" through `run` and `publish`, while the same
 * bytes sent to `serve` are refused as invalid JSON. Lenient otherwise (a config file).
 */
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const lenientDecoder = new TextDecoder("utf-8");

export function utf8Text(bytes: Uint8Array, path: string, strict = false): string {
  if (!strict) return lenientDecoder.decode(bytes);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new Error(`${path} is not UTF-8 text (save it as UTF-8)`);
  }
}
