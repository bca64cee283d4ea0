/**
 * Text helpers for rendering messages: sizes in UTF-8 bytes (robots count bytes, and Chinese
 * text is 3 bytes a character), cutting at a character boundary, the escaping of each output
 * dialect so a label value can never break (or inject into) a message, and URL sanitising.
 */

/** Formats a message can be rendered in (docs/notifications.md). */
export type Format = "text" | "markdown" | "html";

/** Escapes one interpolated value for the place it is rendered into. */
export type Escape = (value: string) => string;

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The longest prefix of `s` that is at most `max` UTF-8 bytes, never splitting a character. */
export function cutBytes(s: string, max: number): string {
  if (max <= 0) return "";
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length;
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + w > max) return s.slice(0, i);
    n += w;
    if (pair) i++;
  }
  return s;
}

/** Identity: plain text needs no escaping. */
export const escapeText: Escape = (s) => s;

const HTML: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** HTML text and attribute values (email). */
export const escapeHtml: Escape = (s) => s.replace(/[&<>"']/g, (c) => HTML[c]);

/** Markdown escaping with a backslash before each of `inline`; the rest as for every markdown. */
function markdownEscape(inline: RegExp): Escape {
  return (s) => {
    const escaped = s.replace(inline, (c) => HTML[c] ?? `\\${c}`);
    // Block markers and line breaks only matter where there is a line to start.
    if (!BLOCKISH.test(escaped)) return escaped;
    return escaped
      .replace(/\r\n?/g, "\n")
      .replace(/(^|\n)([ \t]*)([#+-])(?=[ \t]|\n|$)/g, "$1$2\\$3")
      .replace(/(^|\n)([ \t]*\d+)([.)])(?=[ \t]|\n|$)/g, "$1$2\\$3")
      .replace(/\n/g, "  \n");
  };
}

/**
 * CommonMark/GFM escaping for webhook and console markdown: a backslash before inline markup
 * characters (GFM's `~` strikethrough and `|` tables too), `<`/`>`/`&` as entities, list and
 * heading markers escaped where they would start a block ("# x", "- x", "1. x" — an IP address
 * such as 10.0.0.1 stays as it is), and newlines kept as hard line breaks.
 */
export const escapeMarkdown: Escape = markdownEscape(/[\\`*_[\]~|&<>]/g);

/**
 * DingTalk's markdown: the same, but only the inline markup DingTalk renders gets a backslash —
 * it has no strikethrough or tables, so `~` and `|` stay — and `<` as `&lt;` (a raw `<` could
 * inject `<font>`); a single newline needs two spaces before it. Evidence:
 * docs/contracts.md#dingtalk-robot.
 */
export const escapeDingtalk: Escape = markdownEscape(/[\\`*_[\]&<>]/g);
/** A line break, or a text that starts (after blanks) with a heading/list marker or a number. */
const BLOCKISH = /[\r\n]|^[ \t]*[#+\-\d]/;

/**
 * Feishu lark_md: its documented escapes are numeric HTML entities (`&#42;` for `*`, …), not
 * backslashes (shown literally); `<` must not start a tag (`<at id=all>` would mention everyone).
 */
const FEISHU: Record<string, string> = {
  "&": "&#38;",
  "<": "&#60;",
  ">": "&#62;",
  "*": "&#42;",
  _: "&#95;",
  "~": "&#126;",
  "`": "&#96;",
  "[": "&#91;",
  "]": "&#93;",
  "\\": "&#92;",
  "#": "&#35;",
};
export const escapeFeishu: Escape = (s) =>
  s
    .replace(/[&<>*_~`[\]\\#]/g, (c) => FEISHU[c])
    // A value's line that looks like a list item stays text, should a client render lists.
    .replace(/(^|\n)([ \t]*)([-+]|\d)(?=[ \t.)])/g, (_, a, b, c) => `${a}${b}&#${c.charCodeAt(0)};`);

/**
 * WeCom markdown (and markdown_v2): WeCom documents no escape at all, so markup characters in
 * a value are replaced by look-alikes that render as themselves — `＜ ＞` (no `<font>` or
 * `<@userid>` injection), `ˋ` for a backtick, `［ ］` for brackets — `**` is split by a
 * zero-width space (so are `__`, `*_`), and a line that would start a heading, quote or list
 * gets one in front. v1 has no italic, so `_` and a single `*` show as they are.
 * Evidence: docs/contracts.md#wecom-group-robot.
 */
const WECOM: Record<string, string> = { "<": "＜", ">": "＞", "`": "ˋ", "[": "［", "]": "］" };
const ZWSP = "\u200B";
export const escapeWecom: Escape = (s) =>
  s
    .replace(/[<>`[\]]/g, (c) => WECOM[c])
    .replace(/([*_])(?=[*_])/g, `$1${ZWSP}`)
    .replace(/\r\n?/g, "\n")
    .replace(/(^|\n)([ \t]*)([#>+\-|]|\d+[.)])(?=[ \t]|\n|$)/g, `$1$2${ZWSP}$3`);

/** Robot plain text (WeCom, Feishu): a value must not start a mention tag (`<@all>`, `<at user_id="all">`). */
export const escapeRobotText: Escape = (s) => s.replace(/</g, "＜");

/**
 * Slack mrkdwn: Slack documents exactly three escapes (`&amp;`, `&lt;`, `&gt;`); they stop
 * `<!channel>`, `<@U123>` and `<url|text>` injection. Slack has no backslash escape for
 * `*_~`, so those stay as they are.
 */
export const escapeSlack: Escape = (s) => s.replace(/[&<>]/g, (c) => HTML[c]);

/**
 * A URL made safe to place in a link in any dialect: only http(s), and every character that
 * could end a markdown link, a Slack `<url|text>` or an HTML attribute percent-encoded.
 * Anything else (javascript:, garbage) becomes "" so templates drop the link.
 */
export function safeUrl(raw: string | undefined): string {
  if (!raw) return "";
  const s = raw.trim();
  if (!/^https?:\/\/[^\s/]/i.test(s)) return "";
  return s.replace(/[^A-Za-z0-9\-._~:/?#@!$&'*+,;=%]/g, (c) =>
    Array.from(new TextEncoder().encode(c), (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(
      "",
    ),
  );
}

/** Strips HTML to readable text (the text/plain alternative of a custom HTML email). */
export function htmlToText(html: string): string {
  return (
    html
      .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, "")
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/(p|div|h[1-6]|li|tr|table|section)>/gi, "\n")
      .replace(/<[^>]+>/g, "")
      .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_m, e: string) =>
        e === "amp"
          ? "&"
          : e === "lt"
            ? "<"
            : e === "gt"
              ? ">"
              : e === "quot"
                ? '"'
                : e === "#39"
                  ? "'"
                  : " ",
      )
      // Trailing spaces line by line: /[ \t]+\n/ would try every start of a long run (quadratic).
      .split("\n")
      .map((line) => line.trimEnd())
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()
  );
}

/** Characters a URL may not hold (RFC 3986: space, quote, angle brackets, braces, caret, backtick, bar; a backslash may, as markdown's escape). */
const NOT_URL = /[^!#-;=?-\]_a-z~]/;
const URL_CHAR = /[!#-;=?-\]_a-z~]/;
/** What ends a markdown link's URL: a character no URL holds, or its closing `)`. */
export const NOT_LINK_URL = /[^!#-'*-;=?-\]_a-z~]/;
/** Longer than this, a run of URL characters is data that happens to follow a link, not a link. */
const URL_MAX = 8192;

/**
 * Where the run of URL characters (those `ends` does not match) from `from` ends in `text`; -1
 * when it is longer than URL_MAX. Looks no further than that.
 */
export function urlEnd(text: string, from: number, ends: RegExp = NOT_URL): number {
  const limit = Math.min(text.length, from + URL_MAX + 1);
  const after = text.slice(from, limit).search(ends);
  const end = after < 0 ? limit : from + after;
  return end - from > URL_MAX ? -1 : end;
}

/**
 * Where the URL that position `at` of `text` falls inside starts (looking back no further than
 * `from`), or -1: a scheme's `://` before `at`, the URL's characters running on past it, at most
 * URL_MAX long. A URL inside another's query (`?next=https://…`) is part of the outer one. Looks at
 * no more than URL_MAX characters on either side of the scheme: a caller cutting a long line
 * piece by piece (Slack's sections) must not make this quadratic.
 */
export function urlAcross(text: string, at: number, from = 0): number {
  const scheme = text.lastIndexOf("://", at - 1);
  if (scheme < from) return -1;
  const end = urlEnd(text, scheme);
  if (end <= at) return -1;
  let run = scheme;
  while (run > Math.max(from, scheme - URL_MAX) && URL_CHAR.test(text[run - 1])) run--;
  let start = text.indexOf("://", run);
  while (start > run && /[A-Za-z0-9+.-]/.test(text[start - 1])) start--;
  return end - start <= URL_MAX ? start : -1;
}
