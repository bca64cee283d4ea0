/**
 * A file's text, refused when it is not UTF-8 (the Bun and Deno entries' readFile): read leniently,
 * a GBK export from a Windows tool became a page of "�" through `run` and `publish`, while the same
 * bytes sent to `serve` are refused as invalid JSON.
 */
const strict = new TextDecoder("utf-8", { fatal: true });

export function utf8Text(bytes: Uint8Array, path: string): string {
  try {
    return strict.decode(bytes);
  } catch {
    throw new Error(`${path} is not UTF-8 text (save it as UTF-8)`);
  }
}
