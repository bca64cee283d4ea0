/**
 * A URL's user-info (`http://user:pass@host`) sent as the Basic credential it stands for. Every
 * outbound request goes so (wire.ts), on every runtime alike: the Fetch standard refuses URL
 * credentials (workerd), and Bun turns them into this header anyway. Masking looks for the
 * header's form too: a peer that quotes the request quotes the header (README, "Security").
 */
import { base64Of } from "./base64.ts";
import type { Fetch } from "./ports.ts";

/** A URL's user and password, percent-decoded; undefined without user-info. */
export function userInfoOf(u: URL): { user: string; pass: string } | undefined {
  if (!u.username && !u.password) return undefined;
  return { user: decoded(u.username), pass: decoded(u.password) };
}

/** `Basic <base64(user:pass)>` of a URL with user-info; undefined without one. */
export function basicOf(u: URL): string | undefined {
  const info = userInfoOf(u);
  return info && `Basic ${base64Of(`${info.user}:${info.pass}`)}`;
}

/** A fetch that moves a URL's user-info into an Authorization header (one already given wins). */
export function userInfoAsBasic(fetch: Fetch): Fetch {
  return (input, init) => {
    // Most calls carry no user-info: those go as they are, without parsing the URL.
    if (input instanceof Request || !String(input).includes("@")) return fetch(input, init);
    let u: URL;
    try {
      u = new URL(String(input));
    } catch {
      return fetch(input, init);
    }
    const basic = basicOf(u);
    if (!basic) return fetch(input, init);
    const headers = new Headers(init?.headers);
    if (!headers.has("authorization")) headers.set("authorization", basic);
    u.username = "";
    u.password = "";
    return fetch(u.href, { ...init, headers });
  };
}

/** Percent-decoded user-info; a `%` that starts no escape (`pass%`) is kept as written. */
function decoded(part: string): string {
  return part.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run; // bytes that are not UTF-8
    }
  });
}
