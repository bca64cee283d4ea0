/**
 * The mail message (RFC 5322 + MIME): UTF-8 headers as RFC 2047 encoded-words, addresses with
 * display names, multipart/alternative with a text and an HTML part (base64, 76-column lines),
 * a Message-ID that is stable per notification (so a resend is recognisable) and
 * `Auto-Submitted: auto-generated` (RFC 3834: no auto-replies to alerts).
 */
import { base64Of } from "../../../base64.ts";

export interface Address {
  name: string;
  address: string;
}

const enc = new TextEncoder();

/** "AlertAgent <alerts@example.com>" or "alerts@example.com" → name and address. */
export function parseAddress(text: string): Address {
  const m = /^\s*(?:"?([^"<]*?)"?\s*)?<([^<>\s]+@[^<>\s]+)>\s*$/.exec(text);
  if (m) return { name: (m[1] ?? "").trim(), address: m[2] };
  return { name: "", address: text.trim() };
}

/** True for an address the SMTP envelope can carry (no spaces, brackets or CR/LF). */
export function isMailbox(address: string): boolean {
  return /^[^\s<>()@,;:\\"]+@[^\s<>()@,;:\\"]+$/.test(address);
}

/**
 * A header value: printable ASCII as is, folded at its spaces (RFC 5322 §2.2.3); else, or when it
 * holds `=?` (a mail client decodes an encoded-word it finds in raw text: a label could make a
 * FIRING subject read as resolved), UTF-8 B encoded-words, one to a line, each line at most 76
 * characters (RFC 2047 §2) counting what precedes the first word on its line (`lead`: "Subject: ",
 * else the folding space).
 */
export function encodeWords(text: string, lead = 1): string {
  const clean = text.replace(/[\r\n]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(clean) && clean.length <= 900 && !clean.includes("=?")) return fold(clean, lead);
  // Bytes per word: 4 base64 characters per 3 bytes, plus 12 of "=?UTF-8?B?" and "?=".
  const fits = (before: number) => Math.floor((76 - before - 12) / 4) * 3;
  const words: string[] = [];
  let chunk = "";
  let bytes = 0;
  for (const ch of clean) {
    const n = enc.encode(ch).length;
    if (bytes + n > fits(words.length ? 1 : lead)) {
      words.push(chunk);
      chunk = "";
      bytes = 0;
    }
    chunk += ch;
    bytes += n;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64Of(w)}?=`).join("\r\n ");
}

/** Lines of at most 76 characters where a space allows: a fold is CRLF before a space, which unfolding removes. */
function fold(text: string, lead: number): string {
  const lines: string[] = [];
  let line = "";
  // Trailing spaces dropped: folded, they would make a line of whitespace only (RFC 5322 §3.2.2).
  for (const piece of text.trimEnd().split(/(?= )/)) {
    if ((lines.length ? 0 : lead) + line.length + piece.length > 76 && line.trim()) {
      lines.push(line);
      line = "";
    }
    line += piece;
  }
  return [...lines, line].join("\r\n");
}

/**
 * `name <address>`, the name encoded when it is not ASCII, its lines within RFC 2047's 76
 * characters counting `lead` (the header's name on the first line) and `trail` (a list's comma):
 * the address goes on a folded line of its own when it would push an encoded word's line past it.
 */
export function formatAddress(a: Address, lead = 1, trail = 0): string {
  if (!a.name) return a.address;
  if (/^[\x20-\x7e]*$/.test(a.name)) return `"${a.name.replace(/["\\]/g, "\\$&")}" <${a.address}>`;
  const name = encodeWords(a.name, lead);
  const last = name.split("\r\n").at(-1) as string;
  const lineLength =
    (name.includes("\r\n") ? last.length : lead + last.length) + 3 + a.address.length + trail;
  return `${name}${lineLength > 76 ? "\r\n " : " "}<${a.address}>`;
}

/**
 * Addresses folded one to a line: a line may hold 998 octets at most (RFC 5322 §2.1.1), and a
 * relay that folds an over-long line itself may fold it inside an address.
 */
function addressList(list: Address[], lead: number): string {
  // Every address but the last is followed by its comma on the same line.
  return list.map((a, i) => formatAddress(a, i ? 1 : lead, i < list.length - 1 ? 1 : 0)).join(",\r\n ");
}

/** RFC 5322 date in UTC: "Sat, 28 Nov 2026 10:00:00 +0000". */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    d.getUTCMonth()
  ];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${day}, ${p(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function bodyPart(type: "plain" | "html", text: string): string {
  const b64 = base64Of(text.replace(/\r?\n/g, "\r\n")).replace(/.{76}/g, "$&\r\n").replace(/\r\n$/, "");
  return `Content-Type: text/${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`;
}

export interface Mail {
  from: Address;
  to: Address[];
  cc: Address[];
  subject: string;
  text: string;
  html?: string;
  messageId: string;
  date: number;
  headers?: Record<string, string>;
}

/** The whole message, CRLF line endings, ready for DATA (before dot-stuffing). */
export function buildMessage(m: Mail): string {
  const h: string[] = [
    `From: ${formatAddress(m.from, "From: ".length)}`,
    `To: ${addressList(m.to, "To: ".length)}`,
    ...(m.cc.length ? [`Cc: ${addressList(m.cc, "Cc: ".length)}`] : []),
    `Subject: ${encodeWords(m.subject, "Subject: ".length)}`,
    `Date: ${rfc5322Date(m.date)}`,
    `Message-ID: ${m.messageId}`,
    "MIME-Version: 1.0",
    "Auto-Submitted: auto-generated",
    ...Object.entries(m.headers ?? {}).map(([k, v]) => `${k}: ${encodeWords(v, k.length + 2)}`),
  ];
  if (!m.html) return `${h.join("\r\n")}\r\n${bodyPart("plain", m.text)}`;
  const boundary = `=_alertagent_${m.messageId.replace(/[^A-Za-z0-9]/g, "").slice(0, 40)}`;
  return (
    `${h.join("\r\n")}\r\nContent-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
    `--${boundary}\r\n${bodyPart("plain", m.text)}--${boundary}\r\n${bodyPart("html", m.html)}--${boundary}--\r\n`
  );
}
