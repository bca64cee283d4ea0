/**
 * Bidirectional formatting controls (U+202A–202E, U+2066–2069) shown by their code point, as
 * `[U+202E]`: in a label from an alert's sender, a right-to-left override would reverse whatever
 * the worker writes after it on the same line — a page's severity, the dashboard's own words.
 */
export function bidiShown(text: string): string {
  return /[\u202a-\u202e\u2066-\u2069]/.test(text)
    ? text.replace(
        /[\u202a-\u202e\u2066-\u2069]/g,
        (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase()}]`,
      )
    : text;
}
