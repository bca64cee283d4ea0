/** Text cut to a length for a page, a prompt or a record, visibly. */

/** `text` cut to at most `max` characters, ending in "…" when cut; never half a surrogate pair. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).replace(/[\uD800-\uDBFF]$/, "")}…`;
}
