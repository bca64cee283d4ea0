/** Text cut to a length for a page, a prompt, a record or an error message, visibly ("…"). */

/** The first `n` characters of `text`, one fewer when the last would be half a surrogate pair. */
const head = (text: string, n: number) =>
  text.slice(0, /[\uD800-\uDBFF]/.test(text[n - 1] ?? "") ? n - 1 : n);

/** `text` cut to at most `max` characters, ending in "…" when cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${head(text, max - 1)}…`;
}

/** A short, single-line excerpt (of a body for an error message, of an answer for a page): `max` characters, then "…". */
export function excerpt(text: string, max = 200): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length <= max ? one : `${head(one, max)}…`;
}
